"""The single entry for everything citizens send: store once, classify, respond, record the reply.

Every adapter hands its events to `Ingestor.__call__`. The first step stores the event under its
(channel, external id); a platform that delivers the same update again is stopped right there, so
it is answered once. The reply is recorded in the outbox in the same transaction that marks the
message handled: after a crash a message is either handled with its reply queued, or not handled
and picked up again by `recover()`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from classifiers.pipeline import Pipeline
from listening.models import Citizen, Conversation, Message
from listening.outbox import Outbox, citizen_stream, enqueue
from listening.trend_tables import MessageVector, pack_vector
from responders.chain import HandleLater, OpenCase, Reply, ResponderChain, Turn
from responders.flood import quiet
from responders.models import Case, CaseAttachment, CaseReporter
from responders.texts import pick_language, say
from townhall.db import Database, insert_or_ignore
from townhall.domain import (
    ButtonPress,
    Classification,
    InboundEvent,
    InboundMessage,
    OutboundMessage,
    PollAnswer,
    event_from_dict,
    event_to_dict,
    utcnow,
)
from townhall.privacy import Pseudonymizer

log = logging.getLogger(__name__)

# Longer texts are stored whole but classified on their beginning: a model reads ~128 tokens.
CLASSIFY_CHARS = 2000


@dataclass(frozen=True)
class Stored:
    message_id: int
    citizen_id: int
    conversation_id: int
    citizen_language: str | None
    open_case: OpenCase | None
    duplicate: bool
    blocked: bool = False


def _text_of(event: InboundEvent) -> str:
    if isinstance(event, ButtonPress):
        return f"[button] {event.action}:{event.value}"
    if isinstance(event, PollAnswer):
        return f"[poll] {event.poll_id}: {list(event.option_ids)}"
    return event.text


def _kind_of(event: InboundEvent) -> str:
    if isinstance(event, ButtonPress):
        return "button"
    if isinstance(event, InboundMessage) and event.listen_only:
        return "listening"
    return "poll_answer" if isinstance(event, PollAnswer) else "message"


def _find_message(session: Session, event: InboundEvent) -> Message | None:
    return session.exec(
        select(Message).where(
            Message.channel == event.channel, Message.external_id == event.external_id
        )
    ).first()


def store_event(session: Session, event: InboundEvent, pseudonym: str) -> Stored:
    """Insert the event with its citizen and conversation; report a duplicate instead of failing.

    Every insert is `insert_or_ignore`, so concurrent deliveries of one update (or two first
    messages of one citizen) resolve to one row each without an error.
    """
    existing = _find_message(session, event)
    if existing is not None:
        assert existing.id is not None
        return Stored(existing.id, existing.citizen_id, existing.conversation_id, None, None, True)

    now = utcnow()
    insert_or_ignore(
        session, Citizen,
        {"channel": event.channel, "pseudonym": pseudonym, "created_at": now,
         "last_seen_at": now},
        ["pseudonym"],
    )
    citizen = session.exec(select(Citizen).where(Citizen.pseudonym == pseudonym)).one()
    citizen.display_name = event.sender.display_name or citizen.display_name
    citizen.last_seen_at = now
    session.add(citizen)
    assert citizen.id is not None

    address = event.address
    chat_key = f"{address.channel}:{address.chat_id}:{address.thread_id or ''}"
    insert_or_ignore(
        session, Conversation,
        {"citizen_id": citizen.id, "channel": event.channel, "chat_key": chat_key,
         "address": address.as_dict(), "created_at": now, "last_message_at": now},
        ["citizen_id", "chat_key"],
    )
    conversation = session.exec(
        select(Conversation).where(
            Conversation.citizen_id == citizen.id, Conversation.chat_key == chat_key
        )
    ).one()
    conversation.last_message_at = now
    session.add(conversation)
    assert conversation.id is not None

    inserted = insert_or_ignore(
        session, Message,
        {
            "channel": event.channel, "external_id": event.external_id,
            "citizen_id": citizen.id, "conversation_id": conversation.id,
            "kind": _kind_of(event),
            "text": _text_of(event), "event": event_to_dict(event), "sent_at": event.sent_at,
            "received_at": now,
        },
        ["channel", "external_id"],
    )
    message = _find_message(session, event)
    assert message is not None and message.id is not None
    if not inserted:  # the same update raced in through another task or replica
        return Stored(message.id, citizen.id, conversation.id, None, None, True)
    if isinstance(event, InboundMessage):
        for attachment in event.attachments:  # kept by reference; a case claims them later
            session.add(CaseAttachment(
                message_id=message.id, citizen_id=citizen.id, channel=event.channel,
                kind=attachment.kind, ref=attachment.ref[:200], size=attachment.size,
                latitude=attachment.latitude, longitude=attachment.longitude,
            ))

    open_case = _open_case(session, citizen.id)
    return Stored(message.id, citizen.id, conversation.id, citizen.language, open_case, False,
                  blocked=citizen.blocked_at is not None)


def _open_case(session: Session, citizen_id: int, except_opened_by: int = 0) -> OpenCase | None:
    """The citizen's newest open case, except one opened by the message being handled."""
    case = session.exec(
        select(Case)
        .join(CaseReporter, col(CaseReporter.case_id) == col(Case.id))
        .where(CaseReporter.citizen_id == citizen_id, Case.status != "resolved")
        .where(Case.opened_by_message_id != except_opened_by)
        .order_by(col(Case.id).desc())
    ).first()
    return OpenCase(case.id, case.reference or "") if case and case.id else None


def reload_stored(session: Session, message_id: int) -> Stored:
    """What `store_event` returned for a message, rebuilt later (for recovery)."""
    message = session.get(Message, message_id)
    if message is None:
        raise LookupError(f"no message {message_id}")
    citizen = session.get(Citizen, message.citizen_id)
    return Stored(
        message_id, message.citizen_id, message.conversation_id,
        citizen.language if citizen else None,
        _open_case(session, message.citizen_id, except_opened_by=message_id),
        False,
        blocked=citizen is not None and citizen.blocked_at is not None,
    )


def outbound_for(
    event: InboundEvent, reply: Reply | None, language: str
) -> list[OutboundMessage]:
    """Where a reply goes: back where the event came from, except a private matter asked in
    public, which goes to the sender's private chat with a pointer left in the public one."""
    if reply is None or not reply.text:  # nothing to say here (told through the case instead)
        return []
    private_address = event.private_address if isinstance(event, InboundMessage) else None
    if not reply.private or private_address is None:
        return [OutboundMessage(event.address, reply.text, reply.buttons)]
    return [
        OutboundMessage(private_address, reply.text, reply.buttons),
        OutboundMessage(event.address, say("answered_privately", language)),
    ]


def finish_message(
    session: Session,
    message_id: int,
    classification: Classification,
    responder: str | None,
    replies: Sequence[OutboundMessage],
    keep_vector: bool = True,
) -> None:
    """Mark a message handled and queue its replies, in one transaction."""
    message = session.get(Message, message_id)
    if message is None or message.handled_at is not None:
        return
    message.language = classification.language
    message.classification = {
        "language": classification.language,
        "language_score": round(classification.language_score, 4),
        "labels": classification.labels,
        "scores": classification.scores,
        "models": classification.models,
    }
    message.category = classification.labels.get("category")
    message.sentiment = classification.labels.get("sentiment")
    message.responder = responder
    message.handled_at = utcnow()
    session.add(message)
    if keep_vector and classification.embedding is not None:  # the trends job deletes it
        vector = pack_vector(classification.embedding)
        session.add(MessageVector(message_id=message_id, vector=vector))
    for index, reply in enumerate(replies):
        enqueue(
            session, key=f"reply:{message_id}" + (f":{index}" if index else ""), kind="message",
            stream=citizen_stream(reply.address), payload=reply.as_dict(),
        )


def unhandled_messages(session: Session, older_than: timedelta) -> list[tuple[int, dict]]:
    cutoff = utcnow() - older_than
    rows = session.exec(
        select(Message.id, Message.event)
        .where(col(Message.handled_at).is_(None), Message.received_at <= cutoff)
        .order_by(col(Message.id))
        .limit(500)
    ).all()
    return [(int(message_id), dict(event)) for message_id, event in rows]


class Ingestor:
    def __init__(
        self,
        *,
        db: Database,
        pipeline: Pipeline,
        chain: ResponderChain,
        outbox: Outbox,
        pseudonymize: Pseudonymizer,
        default_language: str = "en",
        keep_vectors: bool = True,
    ):
        """`keep_vectors`: store each message's embedding for the trends job (off when the job
        is off, or the vectors would pile up with nobody to place and delete them)."""
        self.db = db
        self.keep_vectors = keep_vectors
        self.pipeline = pipeline
        self.chain = chain
        self.outbox = outbox
        self.pseudonymize = pseudonymize
        self.default_language = default_language

    async def __call__(self, event: InboundEvent) -> bool:
        """Handle one inbound event. Returns False when it was a duplicate delivery."""
        pseudonym = self.pseudonymize(event.channel, event.sender.user_id)
        stored = await self.db.run(store_event, event, pseudonym)
        if stored.duplicate:
            log.info("duplicate %s event %s ignored", event.channel, event.external_id)
            return False
        try:
            await self._respond(event, stored)
        except HandleLater as wait:
            log.info("%s event %s left for later: %s", event.channel, event.external_id, wait)
        return True

    async def _respond(self, event: InboundEvent, stored: Stored) -> None:
        if stored.blocked:  # kept for the record; no answer, no vote, no statistics
            await self.db.run(
                finish_message, stored.message_id, Classification(), "blocked", [], False
            )
            return
        classification = Classification()
        if isinstance(event, InboundMessage) and event.command is None and event.text.strip():
            classification = await self.pipeline.classify(event.text[:CLASSIFY_CHARS])
        language = pick_language(
            stored.citizen_language,
            classification.language if classification.language_score >= 0.5 else None,
            event.sender.language_code,
            default=self.default_language,
        )
        turn = Turn(
            event=event,
            message_id=stored.message_id,
            citizen_id=stored.citizen_id,
            conversation_id=stored.conversation_id,
            language=language,
            classification=classification,
            open_case=stored.open_case,
        )
        # a listened-to public post is classified and counted, never answered
        listen_only = isinstance(event, InboundMessage) and event.listen_only
        reply = None if listen_only else await self.chain.respond(turn)
        responder = reply.responder if reply else None
        await self.db.run(
            finish_message, stored.message_id, classification, responder,
            outbound_for(event, reply, language),
            self.keep_vectors and not quiet(responder),  # floods and spam stay out of trends
        )
        self.outbox.wake()

    async def recover(self, older_than: timedelta = timedelta(seconds=30)) -> int:
        """Handle messages that were stored but never handled (the process died mid-way).

        Every step of handling is idempotent per message (a case opened by it, its queued
        reply), so finishing what a dead process started cannot do anything twice.
        """
        pending = await self.db.run(unhandled_messages, older_than)
        for message_id, data in pending:
            stored = await self.db.run(reload_stored, message_id)
            try:
                await self._respond(event_from_dict(data), stored)
            except HandleLater as wait:
                log.info("message %d left for later again: %s", message_id, wait)
        if pending:
            log.warning("recovered %d unhandled message(s)", len(pending))
        return len(pending)
