"""Units of work for consultations: plain functions of a `Session`, one transaction each.

The rules that must hold however many replicas and button presses race live here, next to
the SQL that enforces them: one vote per citizen per statement (an upsert on the unique pair),
the per-citizen statement limits (checked with the citizen's row locked, so two messages sent
at once cannot both slip under the limit), and one moderation decision per statement (the
statement's row locked, so two staff clicking at once get one decision and one refusal).
Outbox items are recorded in the same transaction as the change that causes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from listening.models import Citizen
from listening.outbox import citizen_stream, enqueue
from polls.consultation_models import (
    STATEMENT_LIMIT,
    Consultation,
    Statement,
    StatementVote,
)
from polls.consultation_texts import say
from polls.models import Subscription
from polls.opinions import VoteMatrix
from polls.subscriptions import Topics, audience
from townhall.domain import Button, OutboundMessage

QUESTION_LIMIT = 300  # as for polls: the strictest of our channels
STATEMENTS_PER_CONSULTATION = 5  # pending or approved, per citizen and consultation
STATEMENTS_PER_DAY = 8  # any outcome, per citizen over the last 24 hours, all consultations

# citizen buttons: `value` carries ids only, so callback data stays far below 64 bytes
JOIN, VOTE, ADD, CANCEL = "cs_join", "cs_vote", "cs_add", "cs_cancel"
VOTES = {"a": 1, "d": -1, "p": 0}  # cs_vote value "<statement id>.<a|d|p>"


class ConsultationError(ValueError):
    """A consultation or statement that cannot be created or changed; for the staff member."""


class StatementRefused(ValueError):
    """A citizen's statement (or vote) that cannot be taken; `key` names the text saying why."""

    def __init__(self, key: str, **values: object):
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class StatementLimits:
    per_consultation: int = STATEMENTS_PER_CONSULTATION
    per_day: int = STATEMENTS_PER_DAY


@dataclass(frozen=True)
class NewConsultation:
    """What staff ask for; `seeds` start the conversation, `meta` are demographic questions."""

    question: str
    audience: str  # topic:<id>
    created_by: str
    closes_at: datetime | None = None
    seeds: tuple[str, ...] = ()
    meta: tuple[str, ...] = ()
    announce: bool = False  # tell the topic's subscribers, with a button to take part


@dataclass(frozen=True)
class NextStatement:
    statement_id: int
    text: str
    left: int  # statements this citizen has not voted on yet, this one included


@dataclass(frozen=True)
class ConsultationVotes:
    question: str
    votes: VoteMatrix
    texts: dict[int, str]


def clean(text: str) -> str:
    """One line, single spaces: how a statement is stored and shown."""
    return " ".join(text.split())


def fingerprint(text: str) -> str:
    """The text folded for finding duplicates: case, punctuation and spacing do not count."""
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())[:STATEMENT_LIMIT]


def check_consultation(new: NewConsultation, topics: Topics, now: datetime) -> None:
    if not 1 <= len(clean(new.question)) <= QUESTION_LIMIT:
        raise ConsultationError(f"The question must be 1 to {QUESTION_LIMIT} characters.")
    kind, _, topic = new.audience.partition(":")
    if kind != "topic" or topic not in topics.names:
        raise ConsultationError(
            f"The audience is topic:<id>; topics: {', '.join(topics.names)}.")
    if new.closes_at is not None and new.closes_at <= now:
        raise ConsultationError("The closing time must be in the future.")
    seen: set[str] = set()
    for text in (*new.seeds, *new.meta):
        if not 1 <= len(clean(text)) <= STATEMENT_LIMIT or not fingerprint(text):
            raise ConsultationError(f"A statement must be 1 to {STATEMENT_LIMIT} characters.")
        if fingerprint(text) in seen:
            raise ConsultationError(f"The statement {clean(text)!r} is there twice.")
        seen.add(fingerprint(text))


def is_open(consultation: Consultation | None, now: datetime) -> bool:
    """Open, and not past its closing time (the scheduled close may not have run yet)."""
    return consultation is not None and consultation.status == "open" and (
        consultation.closes_at is None or consultation.closes_at > now)


def create_consultation(session: Session, new: NewConsultation, now: datetime) -> int:
    consultation = Consultation(question=clean(new.question), audience=new.audience,
                                created_by=new.created_by, created_at=now,
                                closes_at=new.closes_at)
    session.add(consultation)
    session.flush()
    assert consultation.id is not None
    for texts, meta in ((new.seeds, False), (new.meta, True)):
        for text in texts:
            _seed(session, consultation.id, text, new.created_by, now, meta)
    if new.announce:
        _announce(session, consultation)
    return consultation.id


def _seed(session: Session, consultation_id: int, text: str, staff_id: str, now: datetime,
          meta: bool) -> int:
    statement = Statement(
        consultation_id=consultation_id, text=clean(text), fingerprint=fingerprint(text),
        status="approved", is_meta=meta, moderated_by=staff_id, moderated_at=now, created_at=now)
    session.add(statement)
    session.flush()
    return int(statement.id or 0)


def add_seed(session: Session, consultation_id: int, text: str, staff_id: str, now: datetime,
             meta: bool = False) -> int:
    """A statement (or a meta statement) written by staff: approved at once, no card."""
    if session.get(Consultation, consultation_id) is None:
        raise ConsultationError(f"There is no consultation {consultation_id}.")
    if not 1 <= len(clean(text)) <= STATEMENT_LIMIT or not fingerprint(text):
        raise ConsultationError(f"A statement must be 1 to {STATEMENT_LIMIT} characters.")
    duplicate = session.exec(select(Statement.id).where(
        Statement.consultation_id == consultation_id,
        Statement.fingerprint == fingerprint(text))).first()
    if duplicate is not None:
        raise ConsultationError(f"Statement {duplicate} already says that.")
    return _seed(session, consultation_id, text, staff_id, now, meta)


def _announce(session: Session, consultation: Consultation) -> None:
    topic = consultation.audience.partition(":")[2]
    members = audience(session, topic)
    subscribed = select(Subscription.citizen_id).where(Subscription.topic == topic)
    languages = dict(session.exec(
        select(Citizen.id, Citizen.language).where(col(Citizen.id).in_(subscribed))).all())
    for citizen_id, address in members:
        language = languages.get(citizen_id) or "en"
        message = OutboundMessage(
            address, say("consult_announce", language, question=consultation.question),
            (Button(say("consult_take_part", language), JOIN, str(consultation.id)),))
        enqueue(session, key=f"consultation:{consultation.id}:announce:{citizen_id}",
                kind="message", stream=citizen_stream(address), payload=message.as_dict())


def queue_statement_card(session: Session, statement_id: int, version: str) -> None:
    """The moderation card (`version` "new"), or its edit after the decision. One stream per
    statement, so an edit never overtakes the post it edits."""
    enqueue(session, key=f"statement:{statement_id}:card:{version}", kind="statement_card",
            stream=f"console:statement:{statement_id}", payload={"statement_id": statement_id})


def submit_statement(
    session: Session, consultation_id: int, citizen_id: int, text: str, now: datetime,
    limits: StatementLimits, cards: bool = True,
) -> int:
    """A citizen's statement, pending moderation; the author counts as agreeing with it (as on
    Polis), which also keeps it from being shown back to them."""
    if not is_open(session.get(Consultation, consultation_id), now):
        raise StatementRefused("consult_closed")
    text = clean(text)
    if not fingerprint(text):
        raise StatementRefused("statement_empty")
    if len(text) > STATEMENT_LIMIT:
        raise StatementRefused("statement_too_long", length=len(text), limit=STATEMENT_LIMIT)
    # serialise this citizen's submissions: the counts below stay true until we commit
    session.exec(select(Citizen.id).where(Citizen.id == citizen_id).with_for_update()).first()
    mine = _count(session, Statement.consultation_id == consultation_id,
                  Statement.citizen_id == citizen_id,
                  col(Statement.status).in_(("pending", "approved")))
    if mine >= limits.per_consultation:
        raise StatementRefused("statement_limit_consultation", limit=limits.per_consultation)
    today = _count(session, Statement.citizen_id == citizen_id,
                   col(Statement.created_at) > now - timedelta(days=1))
    if today >= limits.per_day:
        raise StatementRefused("statement_limit_day", limit=limits.per_day)
    print_ = fingerprint(text)
    duplicate = session.exec(select(Statement.id).where(
        Statement.consultation_id == consultation_id, Statement.fingerprint == print_)).first()
    if duplicate is not None:
        raise StatementRefused("statement_duplicate")
    statement = Statement(consultation_id=consultation_id, citizen_id=citizen_id, text=text,
                          fingerprint=print_, created_at=now)
    session.add(statement)
    session.flush()
    assert statement.id is not None
    upsert_vote(session, statement.id, citizen_id, 1, now)
    if cards:
        queue_statement_card(session, statement.id, "new")
    return statement.id


def _count(session: Session, *conditions: Any) -> int:
    return int(session.exec(select(func.count(col(Statement.id))).where(*conditions)).one())


def moderate(
    session: Session, statement_id: int, approve: bool, staff_id: str, now: datetime,
    cards: bool = True,
) -> str:
    """Approve or reject a pending statement; returns its new status."""
    statement = session.exec(
        select(Statement).where(Statement.id == statement_id).with_for_update()).first()
    if statement is None:
        raise ConsultationError(f"There is no statement {statement_id}.")
    if statement.status != "pending":
        raise ConsultationError(
            f"Statement {statement_id} was already {statement.status} by "
            f"<@{statement.moderated_by}>.")
    statement.status = "approved" if approve else "rejected"
    statement.moderated_by, statement.moderated_at = staff_id, now
    session.add(statement)
    if cards:
        queue_statement_card(session, statement_id, statement.status)
    return statement.status


def upsert_vote(session: Session, statement_id: int, citizen_id: int, vote: int,
                now: datetime) -> None:
    """Insert the vote, or replace the citizen's earlier vote on the same statement."""
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    insert = dialect.insert(StatementVote).values(
        statement_id=statement_id, citizen_id=citizen_id, vote=vote, voted_at=now)
    session.execute(insert.on_conflict_do_update(
        index_elements=["statement_id", "citizen_id"],
        set_={"vote": insert.excluded.vote, "voted_at": insert.excluded.voted_at}))


def record_vote(session: Session, statement_id: int, citizen_id: int, vote: int,
                now: datetime) -> int | None:
    """A vote on an approved statement of an open consultation; returns the consultation id,
    None for a statement that is not (or no longer) shown."""
    if vote not in (-1, 0, 1):
        raise ValueError(f"a vote is 1, -1 or 0, not {vote!r}")
    statement = session.get(Statement, statement_id)
    if statement is None or statement.status != "approved":
        return None
    if not is_open(session.get(Consultation, statement.consultation_id), now):
        raise StatementRefused("consult_closed")
    upsert_vote(session, statement_id, citizen_id, vote, now)
    return statement.consultation_id


def next_statement(session: Session, consultation_id: int,
                   citizen_id: int) -> NextStatement | None:
    """An approved statement the citizen has not voted on, the least voted first: a new
    statement reaches the front at once, and every statement collects votes evenly."""
    voted = select(StatementVote.statement_id).where(StatementVote.citizen_id == citizen_id)
    count = func.count(col(StatementVote.id))
    rows = session.exec(
        select(Statement.id, Statement.text, count)
        .outerjoin(StatementVote, col(StatementVote.statement_id) == Statement.id)
        .where(Statement.consultation_id == consultation_id, Statement.status == "approved",
               col(Statement.id).not_in(voted))
        .group_by(col(Statement.id), col(Statement.text))
        .order_by(count, col(Statement.id))
    ).all()
    if not rows:
        return None
    statement_id, text, _ = rows[0]
    return NextStatement(int(statement_id), text, len(rows))


def consultation_votes(session: Session, consultation_id: int) -> ConsultationVotes:
    """The vote matrix. Pending statements are not in it; rejected and meta statements are
    marked excluded (Polis's way: they shape no group, but their votes still count towards
    who voted enough to be grouped, see `polls.opinions`)."""
    consultation = session.get(Consultation, consultation_id)
    if consultation is None:
        raise ConsultationError(f"There is no consultation {consultation_id}.")
    statements = session.exec(
        select(Statement).where(Statement.consultation_id == consultation_id,
                                Statement.status != "pending").order_by(col(Statement.id))
    ).all()
    rows = session.exec(
        select(StatementVote.citizen_id, StatementVote.statement_id, StatementVote.vote)
        .join(Statement, col(Statement.id) == StatementVote.statement_id)
        .where(Statement.consultation_id == consultation_id, Statement.status != "pending")
        .order_by(col(StatementVote.voted_at), col(StatementVote.id))
    ).all()
    matrix = VoteMatrix.from_votes(
        ((int(c), int(s), int(v)) for c, s, v in rows),
        statements=[int(s.id or 0) for s in statements],
        excluded=[int(s.id or 0) for s in statements if s.status == "rejected" or s.is_meta])
    return ConsultationVotes(consultation.question, matrix,
                             {int(s.id or 0): s.text for s in statements})


def open_consultations(session: Session, now: datetime,
                       topics: list[str] | None = None) -> list[tuple[int, str]]:
    """(id, question) of the open consultations, for `topics` only when given; newest first."""
    query = select(Consultation).where(Consultation.status == "open")
    if topics is not None:
        query = query.where(col(Consultation.audience).in_([f"topic:{t}" for t in topics]))
    rows = session.exec(query.order_by(col(Consultation.id).desc())).all()
    return [(int(c.id or 0), c.question) for c in rows if is_open(c, now)]


def close_consultation(session: Session, consultation_id: int, now: datetime) -> bool:
    """Close it; False when it was closed already."""
    consultation = session.get(Consultation, consultation_id)
    if consultation is None:
        raise ConsultationError(f"There is no consultation {consultation_id}.")
    if consultation.status != "open":
        return False
    consultation.status, consultation.closed_at = "closed", now
    session.add(consultation)
    return True


def close_due(session: Session, now: datetime) -> list[int]:
    due = session.exec(
        select(Consultation).where(Consultation.status == "open",
                                   col(Consultation.closes_at) <= now)
        .with_for_update(skip_locked=True)
    ).all()
    for consultation in due:
        consultation.status, consultation.closed_at = "closed", now
        session.add(consultation)
    return [int(c.id or 0) for c in due]
