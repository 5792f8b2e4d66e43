""""Add my own statement": the citizen's next message is their statement.

The request is a row in `consultation_drafts`, not state in memory, so it survives a restart and
holds whichever replica receives the next message. It expires after `DRAFT_MINUTES`, and any
command cancels it: a message written much later, or after the citizen moved on, is an ordinary
message to the city, not a statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from polls.consultation_models import StatementDraft
from polls.consultation_store import StatementLimits, StatementRefused, submit_statement

DRAFT_MINUTES = 30  # how long "Add my own statement" waits for the statement
# refusals the citizen can fix by writing again: the request stays, the next message is tried
RETRY = frozenset({"statement_empty", "statement_too_long"})


@dataclass(frozen=True)
class DraftOutcome:
    consultation_id: int
    statement_id: int | None  # None when refused
    refused: StatementRefused | None = None


def set_draft(session: Session, citizen_id: int, consultation_id: int, now: datetime) -> None:
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    insert = dialect.insert(StatementDraft).values(
        citizen_id=citizen_id, consultation_id=consultation_id, created_at=now)
    session.execute(insert.on_conflict_do_update(
        index_elements=["citizen_id"],
        set_={"consultation_id": insert.excluded.consultation_id,
              "created_at": insert.excluded.created_at, "message_id": None,
              "statement_id": None}))


def take_draft(
    session: Session, citizen_id: int, message_id: int, text: str, now: datetime,
    limits: StatementLimits, minutes: float = DRAFT_MINUTES, cards: bool = True,
) -> DraftOutcome | None:
    """The citizen's message `message_id` as the statement they said they would write, if they
    asked within `minutes`; None when it is an ordinary message.

    The request is marked with the message rather than deleted, and forgotten at the next
    message: handling the same message again (recovery after a crash) gives the same outcome.
    """
    draft = session.get(StatementDraft, citizen_id)
    if draft is None:
        return None
    if draft.message_id is not None:
        if draft.message_id == message_id:
            return DraftOutcome(draft.consultation_id, draft.statement_id)
        session.delete(draft)
        return None
    if draft.created_at < now - timedelta(minutes=minutes):
        session.delete(draft)  # asked long ago: this message is about something else
        return None
    try:  # every check comes before the first write, so nothing is left half done
        statement_id = submit_statement(session, draft.consultation_id, citizen_id, text, now,
                                        limits, cards)
    except StatementRefused as refused:
        if refused.key not in RETRY:
            session.delete(draft)
        return DraftOutcome(draft.consultation_id, None, refused)
    draft.message_id, draft.statement_id = message_id, statement_id
    session.add(draft)
    return DraftOutcome(draft.consultation_id, statement_id)


def clear_draft(session: Session, citizen_id: int) -> None:
    session.execute(delete(StatementDraft).where(col(StatementDraft.citizen_id) == citizen_id))
