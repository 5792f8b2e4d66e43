"""Tables for what citizens send us and what we send back.

A citizen is stored pseudonymously: `pseudonym` is a keyed hash of (channel, platform user id), so
the table alone does not say who someone is; the display name sits in its own column so that it can
be erased without losing the statistics. The platform ids needed to *reply* live only in return
addresses (conversations, cases, outbox), which is where erasure must look too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from townhall.domain import utcnow


class Citizen(SQLModel, table=True):
    __tablename__ = "citizens"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    pseudonym: str = Field(max_length=64, unique=True)
    display_name: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=8)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    blocked_at: datetime | None = None  # staff blocked them: stored, never answered or counted


class Conversation(SQLModel, table=True):
    """One chat between the city and a citizen on one channel (a DM, a group, an X thread)."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("citizen_id", "chat_key"),)

    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = Field(foreign_key="citizens.id", index=True)
    channel: str = Field(max_length=32)
    chat_key: str = Field(max_length=200)
    address: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    last_message_at: datetime = Field(default_factory=utcnow)


class Message(SQLModel, table=True):
    """An inbound message or button press, stored once per (channel, external id).

    `handled_at` stays empty until the responder chain has finished with it: a message that was
    stored but never handled (the process died) is picked up again at start-up.
    """

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_messages_unhandled", "handled_at", "received_at"),
        Index("ix_messages_sent_at", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    external_id: str = Field(max_length=128)
    citizen_id: int = Field(foreign_key="citizens.id", index=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    kind: str = Field(default="message", max_length=16)
    text: str = Field(sa_column=Column(Text, nullable=False))
    event: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    language: str | None = Field(default=None, max_length=8)
    classification: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # copies of two labels in `classification`, so reports can group by them without JSON
    category: str | None = Field(default=None, max_length=32)
    sentiment: str | None = Field(default=None, max_length=16)
    responder: str | None = Field(default=None, max_length=32)
    sent_at: datetime
    received_at: datetime = Field(default_factory=utcnow)
    handled_at: datetime | None = None


class OutboxItem(SQLModel, table=True):
    """One thing to deliver, recorded before it is sent.

    `key` makes enqueueing idempotent (re-handling a message cannot queue its reply twice).
    `stream` orders deliveries: items of one stream go out one at a time, oldest first, so a
    citizen reads messages in the order they were written and a card exists before its thread.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=16)
    stream: str = Field(max_length=200, index=True)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    lease_until: datetime | None = None
    external_id: str | None = Field(default=None, max_length=128)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
