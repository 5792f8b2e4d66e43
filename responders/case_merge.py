"""Cases that are about the same thing: a new reporter joins one, staff merge two, or split a
message out of one.

A wrong merge hides a citizen's problem, so joining is cautious (`responders/duplicates` decides)
and both directions are reversible by staff: merge what the bot kept apart, split what it
joined. Every reporter hears where their report went.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from sqlmodel import Session, col, select

from listening.models import Message
from listening.outbox import enqueue
from listening.trend_tables import unpack_vectors
from responders.case_records import (
    CaseError,
    add_reporter,
    attach_message,
    case_stream,
    claim_attachments,
    get_case,
    get_open_case,
    log_event,
    notify_reporters,
    pending_attachments,
    queue_card,
)
from responders.cases import CaseService
from responders.duplicates import DuplicateRule, Report
from responders.models import Case, CaseAttachment, CaseReporter
from responders.texts import say
from townhall.domain import Address, CaseStatus, utcnow

OPEN = (CaseStatus.RESOLVED.value,)


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
        rule = self.rule
        if rule is None:
            return None
        since = utcnow() - timedelta(hours=rule.window_hours)

        def work(session: Session) -> list[Case]:
            return list(session.exec(
                select(Case).where(
                    col(Case.status).not_in(OPEN), Case.created_at >= since,
                    col(Case.vector).is_not(None), col(Case.merged_into_id).is_(None),
                )
            ).all())

        candidates = await self.db.run(work)
        if not candidates:
            return None
        matrix = unpack_vectors([c.vector or b"" for c in candidates], self.dimension)
        reports = [
            Report(i, matrix[i], c.category, c.created_at, c.latitude, c.longitude)
            for i, c in enumerate(candidates)
        ]
        new = Report(-1, np.asarray(vector, dtype=np.float32), category, utcnow(), latitude,
                     longitude)
        best = rule.best(new, reports)
        return candidates[best.key] if best is not None else None

    async def join(
        self, case_id: int, *, citizen_id: int, message_id: int, address: Address,
        language: str, text: str,
    ) -> Case:
        """Attach a citizen's report to an open case as another reporter."""

        def work(session: Session) -> Case:
            case = get_open_case(session, case_id)
            added = add_reporter(session, case, citizen_id=citizen_id, message_id=message_id,
                                 address=address, language=language)
            attach_message(session, message_id, case)
            claim_attachments(
                session, case, pending_attachments(session, citizen_id, utcnow())
            )
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

        return await self.cases.run(work)

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
