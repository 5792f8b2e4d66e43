"""Tables for cases: what staff work on, and the full record of what happened to each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import JSON, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from townhall.domain import CaseStatus, utcnow


class Case(SQLModel, table=True):
    """A citizen's question that needs a person.

    `address` is the citizen's return address: a staff reply goes there, on the channel the
    citizen used. `card_channel`/`card_ts` locate the staff card in the console, so that the card
    can be updated in place and thread replies can be matched back to the case.
    """

    __tablename__ = "cases"

    id: int | None = Field(default=None, primary_key=True)
    reference: str | None = Field(default=None, max_length=32, unique=True)
    citizen_id: int = Field(foreign_key="citizens.id", index=True)
    conversation_id: int = Field(foreign_key="conversations.id")
    opened_by_message_id: int = Field(unique=True)
    channel: str = Field(max_length=32)
    address: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default=CaseStatus.NEW.value, max_length=16, index=True)
    assignee: str | None = Field(default=None, max_length=64)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    language: str | None = Field(default=None, max_length=8)
    category: str | None = Field(default=None, max_length=32)
    sentiment: str | None = Field(default=None, max_length=16)
    abusive: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    suggestions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    card_channel: str | None = Field(default=None, max_length=32)
    card_ts: str | None = Field(default=None, max_length=32, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    # routing and service levels: the queue the case was sent to, and when it is due
    queue: str = Field(
        default="triage", max_length=32, sa_column_kwargs={"server_default": "triage"}
    )
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    # 0 on time; 1 re-announced for being unclaimed past its first-response time; 2 escalated
    sla_stage: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    reopened_at: datetime | None = None
    merged_into_id: int | None = Field(default=None, foreign_key="cases.id")
    latitude: float | None = None
    longitude: float | None = None
    # the opening message's sentence embedding (float16): new reports are compared with it
    vector: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    # the city's 311 system (Open311 GeoReport v2), when the category is mapped to a service
    service_request_id: str | None = Field(default=None, max_length=64, index=True)
    open311_status: str | None = Field(default=None, max_length=32)
    open311_notes: str | None = Field(default=None, sa_column=Column(Text))
    open311_expected: datetime | None = None
    open311_error: str | None = Field(default=None, sa_column=Column(Text))


class CaseReporter(SQLModel, table=True):
    """A citizen attached to a case: the one who opened it and everyone whose message was
    about the same thing. Each is told about status changes in their language, where they
    wrote."""

    __tablename__ = "case_reporters"
    __table_args__ = (UniqueConstraint("case_id", "citizen_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    citizen_id: int = Field(foreign_key="citizens.id", index=True)
    message_id: int = Field(foreign_key="messages.id")  # the message that attached them
    address: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    language: str | None = Field(default=None, max_length=8)
    created_at: datetime = Field(default_factory=utcnow)


class CaseAttachment(SQLModel, table=True):
    """A photo or a location a citizen shared. Photos are kept by reference (the platform's
    file id), not copied: the bytes stay on the platform until staff look at them."""

    __tablename__ = "case_attachments"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    citizen_id: int = Field(foreign_key="citizens.id", index=True)
    channel: str = Field(max_length=32)
    kind: str = Field(max_length=16)  # photo | location
    ref: str = Field(default="", max_length=200)
    size: int = 0
    latitude: float | None = None
    longitude: float | None = None
    created_at: datetime = Field(default_factory=utcnow)


class CaseRating(SQLModel, table=True):
    """How satisfied a citizen was with a resolved case (1-5), and what they added."""

    __tablename__ = "case_ratings"
    __table_args__ = (UniqueConstraint("case_id", "citizen_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    citizen_id: int = Field(foreign_key="citizens.id", index=True)
    score: int
    comment: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class CaseEvent(SQLModel, table=True):
    """Every action on a case: who did what, when. Never updated, only appended."""

    __tablename__ = "case_events"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    actor: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    text: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)


class Correction(SQLModel, table=True):
    """A staff member said a classifier was wrong about a message: training data for the next
    model, kept with who said it and when."""

    __tablename__ = "corrections"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    kind: str = Field(max_length=16)  # category | sentiment
    value: str = Field(max_length=32)
    previous: str | None = Field(default=None, max_length=32)
    staff_id: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
