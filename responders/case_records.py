"""What every case operation writes besides the case itself, inside its transaction.

A case change appends a `CaseEvent`, queues a refresh of its staff card, and often tells every
citizen attached to the case, each in their language and on the channel they used. Keeping these
in one place is what makes "no change without the citizen and the card hearing about it" true for
every operation, wherever it lives (the case service, merging, ratings, the 311 link).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, insert, or_, update
from sqlmodel import Session, col, select

from listening.models import Message
from listening.outbox import citizen_stream, enqueue
from responders.models import Case, CaseAttachment, CaseEvent, CaseReporter
from townhall.domain import Address, Button, CaseStatus, OutboundMessage, utcnow

# Every case operation, and every escalated message, runs these: built once rather than per
# call, and events and reporters inserted in Core (see listening.prepared for why).
_messages = Message.__table__  # type: ignore[attr-defined]
_ATTACH_MESSAGE = update(_messages).where(_messages.c.id == bindparam("message_id"))  # SET case_id
_INSERT_EVENT = insert(CaseEvent.__table__)  # type: ignore[attr-defined]
_reporters = CaseReporter.__table__  # type: ignore[attr-defined]
_REPORTER_ID = select(_reporters.c.id).where(
    _reporters.c.case_id == bindparam("case_id"),
    _reporters.c.citizen_id == bindparam("citizen_id"),
)
_INSERT_REPORTER = insert(_reporters)
_MESSAGE_ATTACHMENTS = select(CaseAttachment).where(
    CaseAttachment.message_id == bindparam("message_id"))
_attachments = CaseAttachment.__table__  # type: ignore[attr-defined]
_ANY_ATTACHMENT = select(_attachments.c.id).where(or_(
    _attachments.c.message_id == bindparam("message_id"),
    and_(_attachments.c.citizen_id == bindparam("citizen_id"), _attachments.c.case_id.is_(None),
         _attachments.c.created_at >= bindparam("since")),
)).limit(1)
_PENDING_ATTACHMENTS = select(CaseAttachment).where(
    CaseAttachment.citizen_id == bindparam("citizen_id"),
    col(CaseAttachment.case_id).is_(None),
    CaseAttachment.created_at >= bindparam("since"),
).order_by(col(CaseAttachment.id))

# photos and locations shared this long before a case opens are taken to be about it
PENDING_ATTACHMENTS = timedelta(hours=1)


class CaseError(Exception):
    """A staff action that cannot be done (already resolved, unknown case): shown to staff."""


def get_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise CaseError(f"There is no case {case_id}.")
    return case


def get_open_case(session: Session, case_id: int) -> Case:
    case = get_case(session, case_id)
    if case.status == CaseStatus.RESOLVED.value:
        raise CaseError(f"Case {case.reference} is already resolved.")
    return case


def case_stream(case_id: int) -> str:
    return f"case:{case_id}"


def log_event(
    session: Session, case: Case, actor: str, kind: str, text: str | None = None
) -> None:
    now = utcnow()
    case.updated_at = now
    session.add(case)
    session.execute(_INSERT_EVENT, {"case_id": case.id, "actor": actor, "kind": kind,
                                    "text": text, "created_at": now})


def queue_card(session: Session, case: Case) -> None:
    """Queue a refresh of the staff card; one pending refresh per case change is enough, and the
    card is rendered from the case as it is when the refresh is delivered."""
    enqueue(
        session, key=f"card:{case.id}:{case.updated_at.isoformat()}", kind="card",
        stream=case_stream(case.id or 0), payload={"case_id": case.id},
    )


def reporters(session: Session, case_id: int) -> list[CaseReporter]:
    return list(
        session.exec(
            select(CaseReporter)
            .where(CaseReporter.case_id == case_id)
            .order_by(col(CaseReporter.id))
        ).all()
    )


def add_reporter(
    session: Session, case: Case, *, citizen_id: int, message_id: int, address: Address,
    language: str | None,
) -> bool:
    """Attach a citizen to the case (once); False when they already were."""
    exists = session.execute(
        _REPORTER_ID, {"case_id": case.id, "citizen_id": citizen_id}).first()
    if exists is not None:
        return False
    assert case.id is not None
    session.execute(_INSERT_REPORTER, {
        "case_id": case.id, "citizen_id": citizen_id, "message_id": message_id,
        "address": address.as_dict(), "language": language, "created_at": utcnow(),
    })
    return True


def notify_reporters(
    session: Session, case: Case, key: str, text: Callable[[str], str],
    buttons: Callable[[str], tuple[Button, ...]] | None = None,
) -> int:
    """Queue a message to every citizen attached to the case; `text(language)` writes it in
    theirs. `key` names the change, so the same change is never told twice. Returns how many."""
    told = 0
    for reporter in reporters(session, case.id or 0):
        language = reporter.language or case.language or "en"
        address = Address.from_dict(reporter.address)
        message = OutboundMessage(
            address, text(language), buttons(language) if buttons else ()
        )
        if enqueue(
            session, key=f"notify:{key}:{reporter.citizen_id}", kind="message",
            stream=citizen_stream(address), payload=message.as_dict(),
        ):
            told += 1
    return told


def attach_message(session: Session, message_id: int, case: Case) -> None:
    """The message, and any photo or location it carried, now belong to the case; the photos
    are queued for the card's thread and a location becomes the case's when it has none."""
    # one UPDATE rather than loading the whole message (its text and event) to set one column;
    # no caller holds the message as an object in this session
    session.execute(_ATTACH_MESSAGE, {"message_id": message_id, "case_id": case.id})
    attachments = session.exec(_MESSAGE_ATTACHMENTS, params={"message_id": message_id}).all()
    claim_attachments(session, case, list(attachments))


def attach_report(
    session: Session, case: Case, message_id: int, citizen_id: int, now: datetime
) -> None:
    """A citizen's report joins the case: `attach_message`, then the citizen's other pending
    attachments (a pin or photo sent just before writing).

    Most reports carry no attachment and follow none: one indexed look-up says so, instead of
    the two queries (and objects) `attach_message` and `pending_attachments` would cost every
    escalated message.
    """
    session.execute(_ATTACH_MESSAGE, {"message_id": message_id, "case_id": case.id})
    since = now - PENDING_ATTACHMENTS
    values = {"message_id": message_id, "citizen_id": citizen_id, "since": since}
    if session.execute(_ANY_ATTACHMENT, values).first() is None:
        return
    claim_attachments(session, case, list(session.exec(
        _MESSAGE_ATTACHMENTS, params={"message_id": message_id}).all()))
    claim_attachments(session, case, pending_attachments(session, citizen_id, now))


def claim_attachments(session: Session, case: Case, attachments: list[CaseAttachment]) -> None:
    for attachment in attachments:
        attachment.case_id = case.id
        session.add(attachment)
        if attachment.kind == "location" and case.latitude is None:
            case.latitude, case.longitude = attachment.latitude, attachment.longitude
        if attachment.kind == "photo":
            enqueue(
                session, key=f"case-photo:{attachment.id}:{case.id}", kind="case_photo",
                # its own stream: a photo waits for the card without holding the card up
                stream=f"{case_stream(case.id or 0)}:files",
                payload={"attachment_id": attachment.id},
            )


def pending_attachments(session: Session, citizen_id: int, now: datetime) -> list[CaseAttachment]:
    """The citizen's recent photos and pins that no case has claimed yet, oldest first."""
    return list(session.exec(_PENDING_ATTACHMENTS, params={
        "citizen_id": citizen_id, "since": now - PENDING_ATTACHMENTS}).all())
