"""A citizen's right to be forgotten and to see their data: one place that knows every table.

`export_citizen` gathers everything stored about a citizen as JSON; `forget_citizen` erases it.
Erasing keeps only anonymous counts: a message row stays with its day, channel, category and
sentiment (so past digests add up) but loses its text, its platform ids and its event; the
citizen row stays as an anonymous id with a random pseudonym; everything that says *who* or
*what they wrote* is deleted or blanked, in every table, derived data included (embeddings, topic
memberships, alert examples, case texts and events, ratings' comments, statements, addresses in
the outbox). `tests/townhall/test_erasure.py` scans every column of every table to prove it.

Lives in the composition root because it must know every package's tables.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from listening.models import Citizen, Conversation, Message, OutboxItem
from listening.trend_tables import Alert, MessageVector, TopicMember
from polls.consultation_models import Statement, StatementDraft
from polls.models import PollDelivery, PollVote, Subscription
from responders.models import (
    Case,
    CaseAttachment,
    CaseEvent,
    CaseRating,
    CaseReporter,
)
from townhall.domain import utcnow
from townhall.redact import redact

ERASED = "[erased at the resident's request]"


@dataclass(frozen=True)
class Erasure:
    citizen_id: int
    messages: int
    cases: int
    deleted: int  # rows deleted across tables


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_citizen(session: Session, citizen_id: int) -> dict[str, Any]:
    """Everything stored about the citizen, as plain JSON (for `/mydata`)."""
    citizen = session.get(Citizen, citizen_id)
    if citizen is None:
        return {}
    messages = session.exec(
        select(Message).where(Message.citizen_id == citizen_id).order_by(col(Message.id))
    ).all()
    case_ids = set(session.exec(
        select(CaseReporter.case_id).where(CaseReporter.citizen_id == citizen_id)
    ).all()) | set(session.exec(select(Case.id).where(Case.citizen_id == citizen_id)).all())
    cases = session.exec(
        select(Case).where(col(Case.id).in_(case_ids or {0})).order_by(col(Case.id))
    ).all()
    return {
        "about": "Everything the city's assistant stores about you. Send /forget to erase it.",
        "you": {"channel": citizen.channel, "name": citizen.display_name,
                "language": citizen.language, "first_seen": _iso(citizen.created_at),
                "last_seen": _iso(citizen.last_seen_at)},
        "messages": [
            {"sent_at": _iso(m.sent_at), "kind": m.kind, "text": m.text,
             "language": m.language, "category": m.category, "sentiment": m.sentiment,
             "answered_by": m.responder,
             "classification": (m.classification or {}).get("labels")}
            for m in messages
        ],
        "cases": [
            {"reference": c.reference, "status": c.status, "summary": c.summary,
             "opened": _iso(c.created_at), "resolved": _iso(c.resolved_at),
             "category": c.category,
             "location": [c.latitude, c.longitude] if c.latitude is not None else None,
             "history": [
                 {"at": _iso(e.created_at), "what": e.kind,
                  "text": e.text if e.actor == "citizen" else None}
                 for e in session.exec(select(CaseEvent).where(CaseEvent.case_id == c.id)
                                       .order_by(col(CaseEvent.id))).all()
             ]}
            for c in cases
        ],
        "attachments": [
            {"kind": a.kind, "size": a.size, "latitude": a.latitude, "longitude": a.longitude,
             "at": _iso(a.created_at)}
            for a in session.exec(select(CaseAttachment)
                                  .where(CaseAttachment.citizen_id == citizen_id)
                                  .order_by(col(CaseAttachment.id))).all()
        ],
        "ratings": [
            {"case_id": r.case_id, "score": r.score, "comment": r.comment}
            for r in session.exec(select(CaseRating).where(CaseRating.citizen_id == citizen_id))
        ],
        "subscriptions": [
            {"kind": s.kind, "topic": s.topic}
            for s in session.exec(select(Subscription).where(Subscription.citizen_id == citizen_id))
        ],
        "poll_votes": [
            {"poll_id": v.poll_id, "options": v.option_ids, "at": _iso(v.voted_at)}
            for v in session.exec(select(PollVote).where(PollVote.citizen_id == citizen_id))
        ],
        "statements": [
            {"consultation_id": s.consultation_id, "text": s.text, "status": s.status}
            for s in session.exec(select(Statement).where(Statement.citizen_id == citizen_id))
        ],
    }


def forget_citizen(session: Session, citizen_id: int) -> Erasure:
    """Erase the citizen everywhere, in the caller's transaction; idempotent."""
    citizen = session.get(Citizen, citizen_id)
    if citizen is None:
        return Erasure(citizen_id, 0, 0, 0)
    messages = session.exec(select(Message).where(Message.citizen_id == citizen_id)).all()
    message_ids = [m.id for m in messages if m.id is not None]
    texts = {m.text for m in messages if m.text}
    conversations = session.exec(
        select(Conversation).where(Conversation.citizen_id == citizen_id)
    ).all()
    chats = {(c.channel, str((c.address or {}).get("chat_id"))) for c in conversations}
    reporter_cases = set(session.exec(
        select(CaseReporter.case_id).where(CaseReporter.citizen_id == citizen_id)
    ).all())
    deleted = 0

    def remove(statement: Any) -> None:
        nonlocal deleted
        deleted += session.execute(statement).rowcount or 0  # type: ignore[attr-defined]

    # derived data first: embeddings, topic memberships, alert examples quoting them
    if message_ids:
        remove(delete(MessageVector).where(col(MessageVector.message_id).in_(message_ids)))
        remove(delete(TopicMember).where(col(TopicMember.message_id).in_(message_ids)))
    quoted = {redact(text) for text in texts}
    for alert in session.exec(select(Alert)).all():
        kept = [example for example in alert.examples or [] if example not in quoted]
        if kept != list(alert.examples or []):
            alert.examples = kept
            session.add(alert)
    # cases: the ones they opened lose their texts; in any case they were part of, their words go
    opened = session.exec(select(Case).where(Case.citizen_id == citizen_id)).all()
    for case in opened:
        case.summary, case.address, case.vector = ERASED, {}, None
        case.latitude = case.longitude = None
        case.updated_at = utcnow()  # the next card refresh shows the erased text
        session.add(case)
    case_ids = {c.id for c in opened} | reporter_cases
    if case_ids:
        for event in session.exec(select(CaseEvent).where(
            col(CaseEvent.case_id).in_(case_ids), CaseEvent.actor == "citizen"
        )).all():
            if event.text and (event.text in texts or any(t in event.text for t in texts)):
                event.text = ERASED
                session.add(event)
    remove(delete(CaseReporter).where(CaseReporter.citizen_id == citizen_id))
    remove(delete(CaseAttachment).where(CaseAttachment.citizen_id == citizen_id))
    session.execute(update(CaseRating).where(col(CaseRating.citizen_id) == citizen_id)
                    .values(comment=None))
    # what they asked for: subscriptions, drafts, statements (their votes stay, anonymous)
    remove(delete(Subscription).where(Subscription.citizen_id == citizen_id))
    remove(delete(StatementDraft).where(StatementDraft.citizen_id == citizen_id))
    session.execute(update(Statement).where(col(Statement.citizen_id) == citizen_id)
                    .values(text=ERASED, fingerprint=f"erased:{secrets.token_hex(8)}",
                            status="rejected"))
    for channel, chat_id in chats:
        remove(delete(PollDelivery).where(PollDelivery.channel == channel,
                                          PollDelivery.chat_id == chat_id))
    # the outbox: nothing pending to them; what was sent keeps no address or text
    streams = [f"{channel}:{chat_id}" for channel, chat_id in chats]
    if streams:
        remove(delete(OutboxItem).where(col(OutboxItem.stream).in_(streams),
                                        OutboxItem.status != "sent"))
        session.execute(update(OutboxItem).where(col(OutboxItem.stream).in_(streams))
                        .values(payload={}, external_id=None, last_error=None,
                                stream=f"erased:{citizen_id}"))
    if message_ids:  # notes in their cases' threads quoting them
        notes = [f"note:message:{message_id}" for message_id in message_ids]
        session.execute(update(OutboxItem).where(col(OutboxItem.key).in_(notes))
                        .values(payload={}))
        session.execute(update(OutboxItem).where(or_(
            col(OutboxItem.key).in_([f"reply:{m}" for m in message_ids]),
            col(OutboxItem.key).in_([f"reply:{m}:1" for m in message_ids]),
        )).values(payload={}))
    # the rows that stay, as anonymous counts
    for message in messages:
        message.text, message.event, message.classification = "", {}, None
        message.external_id = f"erased:{message.id}"
        session.add(message)
    for conversation in conversations:
        conversation.address = {}
        conversation.chat_key = f"erased:{conversation.id}"
        session.add(conversation)
    citizen.pseudonym = f"erased:{secrets.token_hex(16)}"
    citizen.display_name = citizen.language = None
    session.add(citizen)
    return Erasure(citizen_id, len(messages), len(opened), deleted)
