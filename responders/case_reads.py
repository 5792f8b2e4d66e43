"""Reading cases: what a staff card shows, and which cases a citizen has.

Functions over a session, run by `CaseService` (which owns the writes) or by anyone holding a
session; kept apart so the case service stays about what changes a case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from listening.models import Citizen, Message
from responders.case_records import get_case
from responders.models import Case, CaseAttachment, CaseEvent, CaseRating, CaseReporter
from townhall.domain import CaseStatus

MERGE_CHOICES = 20  # newest open cases offered in a card's "Merge into" menu


@dataclass(frozen=True)
class CaseView:
    """Everything a staff card shows, loaded in one go."""

    case: Case
    citizen_name: str | None
    recent_messages: list[tuple[datetime, str]]
    events: list[CaseEvent]
    reporters: int = 1
    case_messages: list[tuple[int, str]] = field(default_factory=list)  # (id, text), not the first
    attachments: list[CaseAttachment] = field(default_factory=list)
    ratings: list[CaseRating] = field(default_factory=list)
    # other open cases staff may merge this one into: (id, reference, summary)
    merge_candidates: list[tuple[int, str, str]] = field(default_factory=list)
    citizen_blocked: bool = False


def load_view(session: Session, case_id: int, history: int = 5) -> CaseView:
    """The case with the opener's last `history` messages, its events, reporters, messages,
    attachments, ratings, and the open cases it could be merged into (same category first)."""
    case = get_case(session, case_id)
    citizen = session.get(Citizen, case.citizen_id)
    rows = session.exec(
        select(Message.sent_at, Message.text)
        .where(Message.citizen_id == case.citizen_id, Message.kind == "message")
        .order_by(col(Message.id).desc())
        .limit(history)
    ).all()
    events = session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))
    ).all()
    count = len(session.exec(select(CaseReporter.id).where(CaseReporter.case_id == case_id)).all())
    messages = session.exec(
        select(Message.id, Message.text)
        .where(Message.case_id == case_id, Message.id != case.opened_by_message_id,
               Message.kind == "message")
        .order_by(col(Message.id))
    ).all()
    attachments = session.exec(
        select(CaseAttachment).where(CaseAttachment.case_id == case_id)
        .order_by(col(CaseAttachment.id))
    ).all()
    ratings = session.exec(select(CaseRating).where(CaseRating.case_id == case_id)).all()
    others = session.exec(
        select(Case.id, Case.reference, Case.summary)
        .where(Case.id != case_id, Case.status != CaseStatus.RESOLVED.value)
        .order_by((col(Case.category) == case.category).desc(), col(Case.id).desc())
        .limit(MERGE_CHOICES)
    ).all()
    return CaseView(
        case, citizen.display_name if citizen else None,
        [(sent_at, text) for sent_at, text in reversed(rows)], list(events),
        max(count, 1), [(int(i), t) for i, t in messages if i is not None],
        list(attachments), list(ratings),
        [(int(i), r or "", s) for i, r, s in others if i is not None],
        citizen is not None and citizen.blocked_at is not None,
    )


def open_case_of(session: Session, citizen_id: int) -> Case | None:
    """The citizen's most recent open case, including those they joined as a reporter."""
    return session.exec(
        select(Case)
        .join(CaseReporter, col(CaseReporter.case_id) == col(Case.id))
        .where(CaseReporter.citizen_id == citizen_id, Case.status != CaseStatus.RESOLVED.value)
        .order_by(col(Case.id).desc())
    ).first()


def cases_of(session: Session, citizen_id: int, reference: str | None = None) -> list[Case]:
    """A citizen's open cases (opened or joined), or the one named by `reference`."""
    query = (
        select(Case)
        .join(CaseReporter, col(CaseReporter.case_id) == col(Case.id))
        .where(CaseReporter.citizen_id == citizen_id)
    )
    if reference:
        query = query.where(Case.reference == reference.strip().upper())
    else:
        query = query.where(Case.status != CaseStatus.RESOLVED.value)
    return list(session.exec(query.order_by(col(Case.id))).all())
