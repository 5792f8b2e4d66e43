"""Tables behind emerging-issue detection: message vectors, topics, their members, alerts.

The classifier pipeline already embeds every message; `message_vectors` keeps that embedding
(float16, 768 bytes) until the trends job has placed the message in a topic, then the row goes:
a topic's centroid is all the job needs afterwards. `topic_members` is the narrow table the job
counts from (topic, time, citizen, channel), so a window's volume is one indexed range scan and
never touches message texts. A topic's `status` records staff feedback: a "dismissed" topic
is a pattern staff called "not an issue", and nothing close to it is raised again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import JSON, Column, Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

from townhall.domain import utcnow


def pack_vector(vector: Any) -> bytes:
    """A unit embedding as float16 bytes: half the space, and cosines stay within 1e-3."""
    return np.asarray(vector, dtype=np.float16).tobytes()


def unpack_vectors(blobs: list[bytes], dimension: int) -> np.ndarray:
    """Stacked float32 rows from `pack_vector` blobs (a blob of another size is skipped as 0)."""
    if all(len(blob) == 2 * dimension for blob in blobs):  # the usual case, in one go
        packed = np.frombuffer(b"".join(blobs), dtype=np.float16)
        return packed.reshape(len(blobs), dimension).astype(np.float32)
    matrix = np.zeros((len(blobs), dimension), dtype=np.float32)
    for row, blob in enumerate(blobs):
        if len(blob) == 2 * dimension:
            matrix[row] = np.frombuffer(blob, dtype=np.float16)
    return matrix


class MessageVector(SQLModel, table=True):
    """A message's sentence embedding, waiting for the trends job (deleted once it is placed)."""

    __tablename__ = "message_vectors"

    message_id: int = Field(primary_key=True, foreign_key="messages.id")
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Topic(SQLModel, table=True):
    """A group of messages about the same thing, kept across runs so its id stays stable."""

    __tablename__ = "topics"

    id: int | None = Field(default=None, primary_key=True)
    centroid: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float32, unit norm
    size: int = 0
    status: str = Field(default="active", max_length=16)  # active | dismissed
    created_at: datetime = Field(default_factory=utcnow)
    last_message_at: datetime = Field(default_factory=utcnow)


class TopicMember(SQLModel, table=True):
    __tablename__ = "topic_members"
    __table_args__ = (Index("ix_topic_members_topic_at", "topic_id", "at"),)

    message_id: int = Field(primary_key=True, foreign_key="messages.id")
    topic_id: int = Field(foreign_key="topics.id")
    citizen_id: int = Field(index=True)
    channel: str = Field(max_length=32)
    at: datetime = Field(index=True)
    similarity: float = 0.0


class Alert(SQLModel, table=True):
    """One emerging issue shown to staff; updated in place while the issue goes on.

    `status`: open (shown, no decision yet) | tracking (staff track it as an incident) |
    dismissed ("not an issue") | closed (went quiet). `slack_channel`/`slack_ts` locate the
    posted alert so that an update edits it instead of posting a new one.
    """

    __tablename__ = "alerts"

    id: int | None = Field(default=None, primary_key=True)
    topic_id: int = Field(foreign_key="topics.id", index=True)
    status: str = Field(default="open", max_length=16)
    label: str = Field(default="", max_length=200)
    messages: int = 0
    citizens: int = 0
    growth: float = 0.0
    channels: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    category: str | None = Field(default=None, max_length=32)
    sentiment: str | None = Field(default=None, max_length=16)
    examples: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    first_alert_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = None
    slack_channel: str | None = Field(default=None, max_length=32)
    slack_ts: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, sa_column=Column(Text))
