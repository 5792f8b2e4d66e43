"""The SLA clock check: unclaimed cases past their first-response time are re-announced in
their queue's channel, then escalated to its lead.

The due times are stored on each case when it opens and the stage reached is stored too, so the
clocks survive restarts: a bot that was down when a case fell due re-announces it at its first
check after starting, once (the outbox key is the case and the stage), on any replica.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from listening.outbox import Outbox, enqueue
from responders.business_hours import BusinessCalendar
from responders.case_records import case_stream, log_event, queue_card
from responders.models import Case
from responders.sla import escalation_stage
from townhall.db import Database
from townhall.domain import CaseStatus, utcnow

log = logging.getLogger(__name__)

UNCLAIMED = (CaseStatus.NEW.value, CaseStatus.REOPENED.value)
STAGE_EVENTS = {1: "sla_reannounced", 2: "sla_escalated"}


class SlaWatch:
    def __init__(
        self, db: Database, outbox: Outbox, calendar: BusinessCalendar, *,
        escalate_after_hours: float,
    ):
        self.db = db
        self.outbox = outbox
        self.calendar = calendar
        self.escalate_after_hours = escalate_after_hours

    async def run(self, now: datetime | None = None) -> int:
        """Move every overdue unclaimed case to the stage it has reached; how many moved."""
        moment = now or utcnow()

        def work(session: Session) -> int:
            due = session.exec(
                select(Case).where(
                    col(Case.status).in_(UNCLAIMED), col(Case.assignee).is_(None),
                    col(Case.first_response_due).is_not(None),
                    Case.first_response_due <= moment, Case.sla_stage < 2,
                ).with_for_update(skip_locked=True)  # replicas take different cases
            ).all()
            moved = 0
            for case in due:
                stage = escalation_stage(
                    unclaimed=True, first_response_due=case.first_response_due, now=moment,
                    calendar=self.calendar, escalate_after_hours=self.escalate_after_hours,
                )
                if stage <= case.sla_stage:
                    continue
                case.sla_stage = stage
                log_event(session, case, "townhall", STAGE_EVENTS[stage])
                enqueue(
                    session, key=f"sla:{case.id}:{stage}:{case.reopened_at}", kind="sla_notice",
                    stream=case_stream(case.id or 0),
                    payload={"case_id": case.id, "stage": stage},
                )
                queue_card(session, case)
                moved += 1
            return moved

        moved = await self.db.run(work)
        if moved:
            log.info("sla: %d case(s) re-announced or escalated", moved)
            self.outbox.wake()
        return moved
