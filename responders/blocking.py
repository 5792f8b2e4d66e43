"""Blocking a citizen from a case card, and unblocking them from `/townhall unblock REF`.

A blocked citizen's messages are still stored (the record stays complete) but never answered,
counted or voted with (`listening/ingest.py`). Staff block by case, because the case is what
they see; the citizen stays pseudonymous throughout. Both are recorded in the case's history.
"""

from __future__ import annotations

from sqlmodel import Session, select

from listening.models import Citizen
from responders.case_records import CaseError, get_case, log_event, queue_card
from responders.models import Case
from townhall.db import Database
from townhall.domain import utcnow


class CitizenBlocks:
    def __init__(self, db: Database, wake: object | None = None):
        self.db = db
        self._wake = wake  # the outbox, woken after a card refresh is queued

    async def set_blocked(self, case_id: int, staff_id: str, blocked: bool) -> Case:
        def work(session: Session) -> Case:
            case = get_case(session, case_id)
            citizen = session.get(Citizen, case.citizen_id)
            if citizen is None:
                raise CaseError(f"The citizen of {case.reference} is no longer known.")
            if (citizen.blocked_at is not None) == blocked:
                return case
            citizen.blocked_at = utcnow() if blocked else None
            session.add(citizen)
            log_event(session, case, staff_id, "citizen_blocked" if blocked
                      else "citizen_unblocked")
            queue_card(session, case)
            return case

        case = await self.db.run(work)
        wake = getattr(self._wake, "wake", None)
        if wake is not None:
            wake()
        return case

    async def unblock_command(self, text: str, staff_id: str) -> str:
        """`/townhall unblock TH-00012`: the answer shown to the staff member."""
        reference = text.strip().upper()
        if not reference:
            return "Usage: `/townhall unblock CASE-REFERENCE` (the case of the citizen to unblock)."

        def find(session: Session) -> int | None:
            return session.exec(select(Case.id).where(Case.reference == reference)).first()

        case_id = await self.db.run(find)
        if case_id is None:
            return f"There is no case {reference}."
        await self.set_blocked(case_id, staff_id, False)
        return f"The citizen of {reference} is unblocked: their messages are answered again."

