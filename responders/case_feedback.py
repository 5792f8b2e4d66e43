"""After a case is resolved: the citizen rates it (1-5), may add a comment, or reopens it.

Reopening is explicit, so that a "thanks!" or a new question never reopens an old case: the
citizen replies to the resolution message (where the platform has replies) or sends
`/reopen REF`, within `reopen_days`. A comment is the citizen's next message within
`comment_minutes` of their rating, when they have no open case.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from listening.models import OutboxItem
from listening.outbox import citizen_stream
from responders.case_records import log_event, queue_card
from responders.cases import CaseService
from responders.chain import Reply, Turn
from responders.models import Case, CaseRating, CaseReporter
from responders.texts import say
from townhall.domain import CaseStatus, utcnow

_ratings = CaseRating.__table__  # type: ignore[attr-defined]
# asked for every message of a citizen without an open case: built once
_COMMENT_TO = (
    select(_ratings.c.id)
    .where(_ratings.c.citizen_id == bindparam("citizen_id"),
           _ratings.c.updated_at >= bindparam("since"), _ratings.c.comment.is_(None))
    .order_by(_ratings.c.id.desc())
    .limit(1)
)


class CaseFeedback:
    def __init__(self, cases: CaseService, *, reopen_days: float, comment_minutes: float):
        self.cases = cases
        self.db = cases.db
        self.reopen_window = timedelta(days=reopen_days)
        self.comment_window = timedelta(minutes=comment_minutes)

    async def rate(self, case_id: int, citizen_id: int, score: int) -> bool:
        """Store (or change) the citizen's rating; False when they are not the case's."""
        if not 1 <= score <= 5:
            return False

        def work(session: Session) -> bool:
            case = session.get(Case, case_id)
            if case is None or not _is_reporter(session, case_id, citizen_id):
                return False
            rating = session.exec(
                select(CaseRating).where(CaseRating.case_id == case_id,
                                         CaseRating.citizen_id == citizen_id)
            ).first()
            now = utcnow()
            if rating is None:
                rating = CaseRating(case_id=case_id, citizen_id=citizen_id, score=score)
            rating.score, rating.updated_at = score, now
            session.add(rating)
            log_event(session, case, "citizen", "rated", f"{score}/5")
            queue_card(session, case)
            return True

        done = await self.db.run(work)
        self.cases.outbox.wake()
        return done

    async def comment_to(self, citizen_id: int) -> CaseRating | None:
        """The rating the citizen's next message would comment on, if it is recent."""
        since = utcnow() - self.comment_window

        def work(session: Session) -> CaseRating | None:
            found = session.execute(
                _COMMENT_TO, {"citizen_id": citizen_id, "since": since}).scalar()
            return session.get(CaseRating, found) if found is not None else None

        return await self.db.run(work)

    async def add_comment(self, rating_id: int, text: str) -> None:
        def work(session: Session) -> None:
            rating = session.get(CaseRating, rating_id)
            case = session.get(Case, rating.case_id) if rating else None
            if rating is None or case is None:
                return
            rating.comment = text
            session.add(rating)
            log_event(session, case, "citizen", "rating_comment", text)
            queue_card(session, case)

        await self.db.run(work)
        self.cases.outbox.wake()

    async def reopenable(
        self, citizen_id: int, *, reference: str | None = None, reply_to_id: str | None = None,
        stream: str | None = None,
    ) -> tuple[Case | None, bool]:
        """The resolved case named by `reference`, or whose resolution message `reply_to_id`
        answers; and whether it is still within the reopening window."""

        def work(session: Session) -> Case | None:
            if reference:
                case = session.exec(
                    select(Case).where(Case.reference == reference.strip().upper())
                ).first()
            elif reply_to_id and stream:
                item = session.exec(
                    select(OutboxItem.key).where(
                        OutboxItem.stream == stream, OutboxItem.external_id == reply_to_id,
                        col(OutboxItem.key).startswith("notify:resolved:"),
                    )
                ).first()
                case_id = int(item.split(":")[2]) if item else 0
                case = session.get(Case, case_id) if case_id else None
            else:
                return None
            if case is None or not _is_reporter(session, case.id or 0, citizen_id):
                return None
            return case

        case = await self.db.run(work)
        if case is None or case.status != CaseStatus.RESOLVED.value or case.merged_into_id:
            return None, False
        fresh = case.resolved_at is not None and utcnow() - case.resolved_at <= self.reopen_window
        return case, fresh


def _is_reporter(session: Session, case_id: int, citizen_id: int) -> bool:
    return session.exec(
        select(CaseReporter.id).where(CaseReporter.case_id == case_id,
                                      CaseReporter.citizen_id == citizen_id)
    ).first() is not None


class CaseFeedbackResponder:
    """Rating buttons, `/reopen`, replies to a resolution message, and rating comments."""

    name = "case_feedback"

    def __init__(self, feedback: CaseFeedback):
        self.feedback = feedback
        self.cases = feedback.cases

    async def respond(self, turn: Turn) -> Reply | None:
        press = turn.press
        if press is not None:
            if press.action != "case_rate":
                return None
            case_id, _, score = press.value.partition(":")
            if case_id.isdigit() and score.isdigit() and await self.feedback.rate(
                int(case_id), turn.citizen_id, int(score)
            ):
                return Reply(say("rating_thanks", turn.language), self.name)
            return None
        message = turn.message
        if message is None:
            return None
        if message.command == "reopen":
            return await self._reopen(turn, reference=message.args.strip() or None)
        if message.command is None and message.reply_to_id:
            reply = await self._reopen(turn, reply_to_id=message.reply_to_id, quiet=True)
            if reply is not None:
                return reply
        if message.command is None and turn.open_case is None and message.text.strip():
            rating = await self.feedback.comment_to(turn.citizen_id)
            if rating is not None and rating.id is not None:
                await self.feedback.add_comment(rating.id, message.text)
                return Reply(say("rating_comment_thanks", turn.language), self.name)
        return None

    async def _reopen(
        self, turn: Turn, *, reference: str | None = None, reply_to_id: str | None = None,
        quiet: bool = False,
    ) -> Reply | None:
        message = turn.message
        assert message is not None
        if reference is None and reply_to_id is None:
            return Reply(say("help", turn.language), self.name)
        case, fresh = await self.feedback.reopenable(
            turn.citizen_id, reference=reference, reply_to_id=reply_to_id,
            stream=citizen_stream(message.address),
        )
        if case is None or case.id is None:
            if quiet:
                return None  # a reply to some other message of ours: not about reopening
            return Reply(say("case_reopen_unknown", turn.language, ref=(reference or "").upper()),
                         self.name, private=True)
        if not fresh:
            return None if quiet else Reply(
                say("case_reopen_expired", turn.language, ref=case.reference,
                    days=f"{self.feedback.reopen_window.days}"), self.name, private=True)
        text = "" if message.command else message.text
        await self.cases.reopen(case.id, turn.citizen_id, turn.message_id, text)
        return Reply("", self.name, case_id=case.id, private=True)
