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

from sqlalchemy import bindparam, insert, update
from sqlmodel import Session, col, select

from classifiers.pipeline import Pipeline
from listening.models import Citizen, Conversation, Message
from listening.outbox import Outbox, citizen_stream, enqueue
from listening.prepared import insert_ignoring, upsert
from listening.trend_tables import MessageVector, pack_vector
from responders.chain import HandleLater, OpenCase, Reply, ResponderChain, Turn
from responders.flood import quiet
from responders.models import Case, CaseAttachment, CaseReporter
from responders.texts import pick_language, say
from townhall.db import Database
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


_messages = Message.__table__  # type: ignore[attr-defined]
_citizens = Citizen.__table__  # type: ignore[attr-defined]
_cases = Case.__table__  # type: ignore[attr-defined]
_reporters = CaseReporter.__table__  # type: ignore[attr-defined]

# The statements of every message's two transactions (store, finish), prepared once: see
# listening.prepared for why they are Core rather than the ORM.
_FIND_MESSAGE = select(
    _messages.c.id, _messages.c.citizen_id, _messages.c.conversation_id
).where(
    _messages.c.channel == bindparam("channel"),
    _messages.c.external_id == bindparam("external_id"),
)
_INSERT_MESSAGE = insert_ignoring(_messages, ["channel", "external_id"], returning="id")
_INSERT_VECTOR = insert(MessageVector.__table__)  # type: ignore[attr-defined]
_OPEN_CASE = (
    select(_cases.c.id, _cases.c.reference)
    .join(_reporters, _reporters.c.case_id == _cases.c.id)
    .where(
        _reporters.c.citizen_id == bindparam("citizen_id"), _cases.c.status != "resolved",
        _cases.c.opened_by_message_id != bindparam("except_opened_by"),
    )
    .order_by(_cases.c.id.desc())
    .limit(1)
)
# mark handled only once: a second finish (recovery racing a slow first one) changes nothing
_FINISH = (
    update(_messages)
    .where(_messages.c.id == bindparam("message_id"), _messages.c.handled_at.is_(None))
    .returning(_messages.c.id)
)
_UPSERT_CITIZEN = upsert(_citizens, ["pseudonym"], ("last_seen_at",),
                         ("id", "language", "blocked_at"))
# a platform that tells us the sender's name: it replaces the one stored (it may have changed)
_UPSERT_NAMED_CITIZEN = upsert(_citizens, ["pseudonym"], ("last_seen_at", "display_name"),
                               ("id", "language", "blocked_at"))
_UPSERT_CONVERSATION = upsert(Conversation.__table__,  # type: ignore[attr-defined]
                              ["citizen_id", "chat_key"], ("last_message_at",), ("id",))


def store_event(session: Session, event: InboundEvent, pseudonym: str) -> Stored:
    """Insert the event with its citizen and conversation; report a duplicate instead of failing.

    Every insert is `ON CONFLICT`, so concurrent deliveries of one update (or two first
    messages of one citizen) resolve to one row each without an error. Five statements: the
    duplicate check, the citizen and its conversation (inserted or touched, their ids
    returned), the message, the open case.
    """
    where = {"channel": event.channel, "external_id": event.external_id}
    existing = session.execute(_FIND_MESSAGE, where).first()
    if existing is not None:
        return Stored(existing.id, existing.citizen_id, existing.conversation_id, None, None,
                      True)

    now = utcnow()
    name = event.sender.display_name
    citizen = session.execute(
        (_UPSERT_NAMED_CITIZEN if name else _UPSERT_CITIZEN)(session),
        {"channel": event.channel, "pseudonym": pseudonym, "display_name": name or None,
         "created_at": now, "last_seen_at": now},
    ).one()

    address = event.address
    chat_key = f"{address.channel}:{address.chat_id}:{address.thread_id or ''}"
    conversation_id = session.execute(
        _UPSERT_CONVERSATION(session),
        {"citizen_id": citizen.id, "channel": event.channel, "chat_key": chat_key,
         "address": address.as_dict(), "created_at": now, "last_message_at": now},
    ).scalar_one()

    message_id = session.execute(_INSERT_MESSAGE(session), {
        **where, "citizen_id": citizen.id, "conversation_id": conversation_id,
        "kind": _kind_of(event), "text": _text_of(event), "event": event_to_dict(event),
        "sent_at": event.sent_at, "received_at": now,
    }).scalar()
    if message_id is None:  # the same update raced in through another task or replica
        raced = session.execute(_FIND_MESSAGE, where).one()
        return Stored(raced.id, citizen.id, conversation_id, None, None, True)
    if isinstance(event, InboundMessage):
        for attachment in event.attachments:  # kept by reference; a case claims them later
            session.add(CaseAttachment(
                message_id=message_id, citizen_id=citizen.id, channel=event.channel,
                kind=attachment.kind, ref=attachment.ref[:200], size=attachment.size,
                latitude=attachment.latitude, longitude=attachment.longitude,
            ))

    open_case = _open_case(session, citizen.id)
    return Stored(message_id, citizen.id, conversation_id, citizen.language, open_case, False,
                  blocked=citizen.blocked_at is not None)


def _open_case(session: Session, citizen_id: int, except_opened_by: int = 0) -> OpenCase | None:
    """The citizen's newest open case, except one opened by the message being handled."""
    case = session.execute(
        _OPEN_CASE, {"citizen_id": citizen_id, "except_opened_by": except_opened_by}
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
    handled = session.execute(_FINISH, {
        "message_id": message_id,
        "language": classification.language,
        "classification": {
            "language": classification.language,
            "language_score": round(classification.language_score, 4),
            "labels": classification.labels,
            "scores": classification.scores,
            "models": classification.models,
        },
        "category": classification.labels.get("category"),
        "sentiment": classification.labels.get("sentiment"),
        "responder": responder,
        "handled_at": utcnow(),
    }).first()
    if handled is None:  # no such message, or handled already
        return
    if keep_vector and classification.embedding is not None:  # the trends job deletes it
        session.execute(_INSERT_VECTOR, {"message_id": message_id,
                                         "vector": pack_vector(classification.embedding)})
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
