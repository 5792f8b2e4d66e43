"""The retention job: message texts older than `[privacy] retention_days` are anonymised.

What a resident wrote is kept only as long as the city needs it; after that a message keeps its
day, channel, category and sentiment (the digest's counts still add up) and loses its text, its
raw event and its platform id. Closed cases lose their texts and their citizens' words in their
history, and sent outbox items lose their payloads (they hold the texts and addresses sent).
Open cases are left alone whatever their age: staff are still working on them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Text, cast, delete, or_, update
from sqlmodel import Session, col, select

from listening.models import Message, OutboxItem
from listening.trend_tables import MessageVector
from responders.models import Case, CaseEvent, CaseRating
from townhall.db import Database
from townhall.domain import utcnow

log = logging.getLogger(__name__)

EXPIRED = "[removed after the retention period]"
BATCH = 1000


@dataclass(frozen=True)
class Retained:
    messages: int
    cases: int
    outbox: int


def expire(session: Session, cutoff: datetime) -> Retained:
    """One batch of anonymisation before `cutoff`; call until it returns zeros."""
    open_cases = select(Case.id).where(Case.status != "resolved")
    messages = session.exec(
        select(Message).where(
            Message.received_at < cutoff, Message.text != "",
            or_(col(Message.case_id).is_(None), col(Message.case_id).not_in(open_cases)),
        ).limit(BATCH)
    ).all()
    for message in messages:
        message.text, message.event, message.classification = "", {}, None
        message.external_id = f"expired:{message.id}"
        session.add(message)
    ids = [m.id for m in messages]
    if ids:
        session.execute(delete(MessageVector).where(col(MessageVector.message_id).in_(ids)))
    cases = session.exec(
        select(Case).where(Case.status == "resolved", col(Case.resolved_at) < cutoff,
                           Case.summary != EXPIRED).limit(BATCH)
    ).all()
    for case in cases:
        case.summary, case.address, case.vector = EXPIRED, {}, None
        session.add(case)
        session.execute(update(CaseEvent).where(
            col(CaseEvent.case_id) == case.id, col(CaseEvent.actor) == "citizen",
            col(CaseEvent.text).is_not(None)).values(text=EXPIRED))
        session.execute(update(CaseRating).where(col(CaseRating.case_id) == case.id)
                        .values(comment=None))
    sent = [i for i in session.exec(
        select(OutboxItem.id).where(
            OutboxItem.status != "pending", OutboxItem.created_at < cutoff,
            cast(col(OutboxItem.payload), Text) != "{}",
        ).limit(BATCH)
    ).all() if i is not None]
    if sent:
        session.execute(update(OutboxItem).where(col(OutboxItem.id).in_(sent))
                        .values(payload={}, last_error=None))
    return Retained(len(messages), len(cases), len(sent))


class RetentionJob:
    def __init__(self, db: Database, days: float):
        self.db = db
        self.days = days

    async def run(self, now: datetime | None = None) -> Retained:
        cutoff = (now or utcnow()) - timedelta(days=self.days)
        total = Retained(0, 0, 0)
        while True:
            done = await self.db.run(expire, cutoff)
            total = Retained(total.messages + done.messages, total.cases + done.cases,
                             total.outbox + done.outbox)
            if done == Retained(0, 0, 0):
                break
        if total != Retained(0, 0, 0):
            log.info("retention: anonymised %d messages, %d cases, %d outbox items older than "
                     "%g days", total.messages, total.cases, total.outbox, self.days)
        return total
