"""`/townhall queue [NAME]`: a queue's open cases, oldest first, with where each stands on its
service level, for the staff member who asked."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from responders.business_hours import BusinessCalendar
from responders.cards import sla_text
from responders.cases import CaseView
from responders.models import Case
from responders.queues import Queues
from townhall.db import Database
from townhall.domain import CaseStatus, utcnow

SHOWN = 30  # a Slack answer stays readable; the rest is counted


class QueueReport:
    def __init__(self, db: Database, queues: Queues, calendar: BusinessCalendar):
        self.db = db
        self.queues = queues
        self.calendar = calendar

    async def __call__(self, name: str, now: datetime | None = None) -> str:
        wanted = name.strip().lower()
        queue = next(
            (q for q in self.queues.all() if wanted in (q.id.lower(), q.name.lower())), None
        ) if wanted else self.queues.get(None)
        if queue is None:
            names = ", ".join(f"`{q.id}`" for q in self.queues.all())
            return f"There is no queue {name!r}. Queues: {names}."

        def work(session: Session) -> list[Case]:
            return list(session.exec(
                select(Case)
                .where(Case.queue == queue.id, Case.status != CaseStatus.RESOLVED.value)
                .order_by(col(Case.created_at), col(Case.id))
            ).all())

        cases = await self.db.run(work)
        if not cases:
            return f"*{queue.name}*: no open cases."
        moment = now or utcnow()
        lines = [f"*{queue.name}*: {len(cases)} open case(s), oldest first"]
        for case in cases[:SHOWN]:
            summary = case.summary if len(case.summary) <= 60 else case.summary[:59] + "…"
            owner = f"<@{case.assignee}>" if case.assignee else "unclaimed"
            sla = sla_text(CaseView(case, None, [], []), self.calendar, moment)
            lines.append(f"• *{case.reference}* ({case.status}, {owner}) {sla}: {summary}")
        if len(cases) > SHOWN:
            lines.append(f"…and {len(cases) - SHOWN} more (`townhall cases list --queue "
                         f"{queue.id}`).")
        return "\n".join(lines)
