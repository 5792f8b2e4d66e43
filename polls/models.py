"""Tables for subscriptions, polls, their deliveries and votes.

A subscription ties a citizen to one of the city's topics (or a neighbourhood): the audience of
polls and announcements. A poll is sent once per audience member as a native platform poll; each
sent copy is a `PollDelivery`, which maps the platform's own poll id back to our poll when the
votes come in. `PollVote` holds a citizen's current choice: the unique (poll, citizen) pair is
what makes "one vote per citizen per poll" a database rule, not a hope; a changed vote replaces
the row, a retracted one deletes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from townhall.domain import utcnow


class Subscription(SQLModel, table=True):
    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("citizen_id", "kind", "topic"),)

    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = Field(foreign_key="citizens.id", index=True)
    kind: str = Field(default="topic", max_length=16)  # topic | neighbourhood
    topic: str = Field(max_length=64, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Poll(SQLModel, table=True):
    """A question with 2-10 options, sent to an audience, closing at `closes_at`.

    `audience` is "topic:<id>" (the topic's subscribers), "group:<chat id>" (a Telegram group)
    or "x" (a poll post on the city's X account).
    """

    __tablename__ = "polls"

    id: int | None = Field(default=None, primary_key=True)
    question: str = Field(sa_column=Column(Text, nullable=False))
    options: list[str] = Field(sa_column=Column(JSON, nullable=False))
    audience: str = Field(max_length=120)
    status: str = Field(default="open", max_length=16, index=True)  # open | closed
    announce_result: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa.false()}
    )
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    closes_at: datetime = Field(index=True)
    closed_at: datetime | None = None
    slack_channel: str | None = Field(default=None, max_length=32)
    slack_ts: str | None = Field(default=None, max_length=32)
    flagged_at: datetime | None = None  # staff were told of a flood of votes from new accounts


class PollDelivery(SQLModel, table=True):
    """One sent copy of a poll: where it went and the platform's id for it."""

    __tablename__ = "poll_deliveries"
    __table_args__ = (
        UniqueConstraint("channel", "platform_poll_id"),
        UniqueConstraint("poll_id", "channel", "chat_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(foreign_key="polls.id", index=True)
    channel: str = Field(max_length=32)
    chat_id: str = Field(max_length=64)
    platform_poll_id: str = Field(max_length=64)
    message_id: str = Field(max_length=64)
    totals: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))  # X read-back
    created_at: datetime = Field(default_factory=utcnow)


class PollVote(SQLModel, table=True):
    __tablename__ = "poll_votes"
    __table_args__ = (UniqueConstraint("poll_id", "citizen_id"),)

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(foreign_key="polls.id", index=True)
    citizen_id: int = Field(foreign_key="citizens.id", index=True)
    channel: str = Field(max_length=32)
    option_ids: list[int] = Field(sa_column=Column(JSON, nullable=False))
    voted_at: datetime = Field(default_factory=utcnow)
    changed_at: datetime = Field(default_factory=utcnow)
