"""What every case operation writes besides the case itself, inside its transaction.

A case change appends a `CaseEvent`, queues a refresh of its staff card, and often tells every
citizen attached to the case, each in their language and on the channel they used. Keeping these
in one place is what makes "no change without the citizen and the card hearing about it" true for
every operation, wherever it lives (the case service, merging, ratings, the 311 link).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from listening.models import Message
from listening.outbox import citizen_stream, enqueue
from responders.models import Case, CaseAttachment, CaseEvent, CaseReporter
from townhall.domain import Address, Button, CaseStatus, OutboundMessage, utcnow

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
    case.updated_at = utcnow()
    session.add(case)
    session.add(CaseEvent(case_id=case.id, actor=actor, kind=kind, text=text))


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
    exists = session.exec(
        select(CaseReporter.id).where(
            CaseReporter.case_id == case.id, CaseReporter.citizen_id == citizen_id
        )
    ).first()
    if exists is not None:
        return False
    assert case.id is not None
    session.add(
        CaseReporter(
            case_id=case.id, citizen_id=citizen_id, message_id=message_id,
            address=address.as_dict(), language=language,
        )
    )
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
    message = session.get(Message, message_id)
    if message is not None:
        message.case_id = case.id
        session.add(message)
    attachments = session.exec(
        select(CaseAttachment).where(CaseAttachment.message_id == message_id)
    ).all()
    claim_attachments(session, case, list(attachments))


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
    return list(session.exec(
        select(CaseAttachment).where(
            CaseAttachment.citizen_id == citizen_id,
            col(CaseAttachment.case_id).is_(None),
            CaseAttachment.created_at >= now - PENDING_ATTACHMENTS,
        ).order_by(col(CaseAttachment.id))
    ).all())
