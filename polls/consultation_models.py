"""Tables for consultations: Polis-style conversations of short statements and votes on them.

A consultation asks one question of a topic's audience. Residents write short statements (each
waits in `pending` until a moderator approves or rejects it from Slack) and vote Agree (1),
Disagree (-1) or Pass (0) on the approved statements of others, one at a time. The unique
(statement, citizen) pair makes "one vote per citizen per statement" a database rule: a changed
vote replaces the row. A meta statement (a demographic question such as "I have children at
school") is voted on like any other but does not shape the opinion groups.

`StatementDraft` remembers that a citizen pressed "Add my own statement" and that their next
message is the statement: in the database, so the bot still knows after a restart (or when the
next message reaches another replica).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from townhall.domain import utcnow

STATEMENT_LIMIT = 280  # characters: a statement is one short idea, as on Polis


class Consultation(SQLModel, table=True):
    """A question put to `audience` ("topic:<id>"); open until closed by staff or `closes_at`.

    `slack_channel` / `slack_ts` locate the latest report posted to Slack.
    """

    __tablename__ = "consultations"

    id: int | None = Field(default=None, primary_key=True)
    question: str = Field(sa_column=Column(Text, nullable=False))
    audience: str = Field(max_length=120)
    status: str = Field(default="open", max_length=16, index=True)  # open | closed
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    closes_at: datetime | None = Field(default=None, index=True)
    closed_at: datetime | None = None
    slack_channel: str | None = Field(default=None, max_length=32)
    slack_ts: str | None = Field(default=None, max_length=32)


class Statement(SQLModel, table=True):
    """One statement; `citizen_id` is empty for the seed statements staff write.

    `fingerprint` is the text folded for comparison (case, punctuation and spacing removed), so
    a duplicate is found by an index lookup rather than by reading every statement.
    """

    __tablename__ = "statements"
    __table_args__ = (
        Index("ix_statements_consultation_status", "consultation_id", "status"),
        Index("ix_statements_consultation_fingerprint", "consultation_id", "fingerprint"),
        Index("ix_statements_citizen_created", "citizen_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultations.id")
    citizen_id: int | None = Field(default=None, foreign_key="citizens.id")
    text: str = Field(max_length=STATEMENT_LIMIT)
    fingerprint: str = Field(max_length=STATEMENT_LIMIT)
    status: str = Field(default="pending", max_length=16)  # pending | approved | rejected
    is_meta: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    moderated_by: str | None = Field(default=None, max_length=64)
    moderated_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    slack_channel: str | None = Field(default=None, max_length=32)  # its moderation card
    slack_ts: str | None = Field(default=None, max_length=32)


class StatementVote(SQLModel, table=True):
    __tablename__ = "statement_votes"
    __table_args__ = (
        UniqueConstraint("statement_id", "citizen_id"),
        CheckConstraint("vote IN (-1, 0, 1)", name="ck_statement_votes_vote"),
    )

    id: int | None = Field(default=None, primary_key=True)
    statement_id: int = Field(foreign_key="statements.id", index=True)
    citizen_id: int = Field(foreign_key="citizens.id", index=True)
    vote: int  # 1 agree, -1 disagree, 0 pass
    voted_at: datetime = Field(default_factory=utcnow)


class StatementDraft(SQLModel, table=True):
    """A citizen's next message is their statement for `consultation_id` (one at a time).

    `message_id` is the message that became the statement: the row is kept (and forgotten at
    the citizen's next message) so that handling that message again after a crash finds it was
    a statement, instead of taking it for a question to the city.
    """

    __tablename__ = "consultation_drafts"

    citizen_id: int = Field(
        foreign_key="citizens.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    consultation_id: int = Field(foreign_key="consultations.id")
    created_at: datetime = Field(default_factory=utcnow)
    message_id: int | None = None
    statement_id: int | None = None
