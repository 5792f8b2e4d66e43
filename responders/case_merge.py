"""Cases that are about the same thing: a new reporter joins one, staff merge two, or split a
message out of one.

A wrong merge hides a citizen's problem, so joining is cautious (`responders/duplicates` decides)
and both directions are reversible by staff: merge what the bot kept apart, split what it
joined. Every reporter hears where their report went.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from sqlalchemy import bindparam, or_
from sqlmodel import Session, select

from listening.models import Message
from listening.outbox import enqueue
from listening.trend_tables import unpack_vectors
from responders.case_records import (
    CaseError,
    add_reporter,
    attach_report,
    case_stream,
    get_case,
    get_open_case,
    log_event,
    notify_reporters,
    queue_card,
)
from responders.cases import CaseService
from responders.duplicates import Candidates, DuplicateRule, Report
from responders.models import Case, CaseAttachment, CaseReporter
from responders.texts import say
from townhall.domain import Address, CaseStatus, utcnow

OPEN = (CaseStatus.RESOLVED.value,)
_cases = Case.__table__  # type: ignore[attr-defined]
# What the duplicate rule reads of each open case of the window (not whole cases): asked for
# every escalated message, so built once. Cases of another category, which the rule refuses
# anyway, stay in the database when the rule wants the same category.
_CANDIDATES = select(
    _cases.c.id, _cases.c.category, _cases.c.created_at, _cases.c.latitude,
    _cases.c.longitude, _cases.c.vector,
).where(
    _cases.c.status.not_in(OPEN), _cases.c.created_at >= bindparam("since"),
    _cases.c.vector.is_not(None), _cases.c.merged_into_id.is_(None),
).order_by(_cases.c.id)
_SAME_CATEGORY_CANDIDATES = _CANDIDATES.where(
    or_(_cases.c.category.is_(None), _cases.c.category == bindparam("category")))


class CaseMerger:
    def __init__(self, cases: CaseService, rule: DuplicateRule | None, dimension: int = 384):
        self.cases = cases
        self.db = cases.db
        self.rule = rule  # None: never join automatically
        self.dimension = dimension

    async def find_duplicate(
        self, *, vector: np.ndarray, category: str | None, latitude: float | None = None,
        longitude: float | None = None,
    ) -> Case | None:
        """The open case the new report is about, if the rule is sure enough."""
        if self.rule is None:
            return None
        return await self.db.run(lambda session: self.find_duplicate_in(
            session, vector=vector, category=category, latitude=latitude, longitude=longitude))

    def find_duplicate_in(
        self, session: Session, *, vector: np.ndarray, category: str | None,
        latitude: float | None = None, longitude: float | None = None,
    ) -> Case | None:
        """`find_duplicate` as part of the caller's unit of work."""
        rule = self.rule
        if rule is None:
            return None
        now = utcnow()
        since = now - timedelta(hours=rule.window_hours)
        if rule.same_category and category is not None:
            query, values = _SAME_CATEGORY_CANDIDATES, {"since": since, "category": category}
        else:
            query, values = _CANDIDATES, {"since": since}
        rows = session.execute(query, values).all()
        if not rows:
            return None
        candidates = Candidates(
            keys=[row.id for row in rows],
            vectors=unpack_vectors([row.vector or b"" for row in rows], self.dimension),
            categories=[row.category for row in rows],
            times=[row.created_at for row in rows],
            latitudes=[row.latitude for row in rows],
            longitudes=[row.longitude for row in rows],
        )
        new = Report(-1, np.asarray(vector, dtype=np.float32), category, now, latitude,
                     longitude)
        best = rule.best_of(new, candidates)
        return session.get(Case, candidates.keys[best]) if best is not None else None

    async def join(
        self, case_id: int, *, citizen_id: int, message_id: int, address: Address,
        language: str, text: str,
    ) -> Case:
        """Attach a citizen's report to an open case as another reporter."""
        return await self.cases.run(lambda session: self.join_in(
            session, case_id, citizen_id=citizen_id, message_id=message_id, address=address,
            language=language, text=text))

    def join_in(
        self, session: Session, case_id: int, *, citizen_id: int, message_id: int,
        address: Address, language: str, text: str,
    ) -> Case:
        """`join` as part of the caller's unit of work."""
        case = get_open_case(session, case_id)
        added = add_reporter(session, case, citizen_id=citizen_id, message_id=message_id,
                             address=address, language=language)
        attach_report(session, case, message_id, citizen_id, utcnow())
        log_event(session, case, "citizen", "reporter_joined" if added else "citizen_message",
                  text)
        enqueue(
            session, key=f"note:message:{message_id}", kind="note",
            stream=case_stream(case_id),
            payload={"case_id": case_id, "text": f"(another reporter) {text}",
                     "author": "citizen"},
        )
        queue_card(session, case)
        return case

    async def merge(self, source_id: int, target_id: int, staff_id: str) -> Case:
        """Fold `source` into `target`: its reporters, messages and attachments move over, it is
        closed as merged, and its reporters are told their case number changed."""
        if source_id == target_id:
            raise CaseError("A case cannot be merged into itself.")

        def work(session: Session) -> Case:
            source = get_open_case(session, source_id)
            target = get_open_case(session, target_id)
            notify_reporters(
                session, source, f"merged:{source_id}:{target_id}",
                lambda lang: say("case_merged", lang, old=source.reference, ref=target.reference),
            )
            for reporter in session.exec(
                select(CaseReporter).where(CaseReporter.case_id == source_id)
            ).all():
                add_reporter(session, target, citizen_id=reporter.citizen_id,
                             message_id=reporter.message_id,
                             address=Address.from_dict(reporter.address),
                             language=reporter.language)
                session.delete(reporter)
            for model in (Message, CaseAttachment):
                for row in session.exec(
                    select(model).where(model.case_id == source_id)  # type: ignore[attr-defined]
                ).all():
                    row.case_id = target_id
                    session.add(row)
            if target.latitude is None and source.latitude is not None:
                target.latitude, target.longitude = source.latitude, source.longitude
            source.status = CaseStatus.RESOLVED.value
            source.resolved_at = utcnow()
            source.merged_into_id = target_id
            log_event(session, source, staff_id, "merged", f"into {target.reference}")
            log_event(session, target, staff_id, "merged", f"{source.reference} merged in")
            queue_card(session, source)
            queue_card(session, target)
            return target

        return await self.cases.run(work)

    async def split(self, case_id: int, message_id: int, staff_id: str) -> Case:
        """Give one message of a case its own case (a report the bot joined by mistake); its
        author stops being a reporter of the old case unless other messages of theirs stay."""

        def work(session: Session) -> tuple[Case, Message]:
            case = get_case(session, case_id)
            message = session.get(Message, message_id)
            if message is None or message.case_id != case_id:
                raise CaseError(f"That message is not part of {case.reference}.")
            if message_id == case.opened_by_message_id:
                raise CaseError("The message that opened a case cannot be split out of it.")
            return case, message

        case, message = await self.db.run(work)
        event = message.event or {}
        address = Address.from_dict(
            event.get("private_address") or event.get("address") or case.address
        )
        reporter = await self.db.run(lambda s: s.exec(
            select(CaseReporter).where(CaseReporter.case_id == case_id,
                                       CaseReporter.citizen_id == message.citizen_id)
        ).first())
        language = (reporter.language if reporter else None) or message.language or "en"
        new = await self.cases.open(
            message_id=message_id, citizen_id=message.citizen_id,
            conversation_id=message.conversation_id, address=address, summary=message.text,
            language=language, suggestions=[],
            labels={k: v for k, v in (("category", message.category),
                                       ("sentiment", message.sentiment)) if v},
        )

        def finish(session: Session) -> Case:
            old = get_case(session, case_id)
            fresh = get_case(session, new.id or 0)
            still_there = session.exec(
                select(Message.id).where(Message.case_id == case_id,
                                         Message.citizen_id == message.citizen_id)
            ).first()
            if still_there is None and message.citizen_id != old.citizen_id:
                row = session.exec(
                    select(CaseReporter).where(CaseReporter.case_id == case_id,
                                               CaseReporter.citizen_id == message.citizen_id)
                ).first()
                if row is not None:
                    session.delete(row)
            notify_reporters(
                session, fresh, f"split:{case_id}:{message_id}",
                lambda lang: say("case_split", lang, old=old.reference, ref=fresh.reference),
            )
            log_event(session, old, staff_id, "split", f"a message moved to {fresh.reference}")
            log_event(session, fresh, staff_id, "split", f"from {old.reference}")
            queue_card(session, old)
            queue_card(session, fresh)
            return fresh

        return await self.cases.run(finish)
