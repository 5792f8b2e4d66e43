"""Where each polling job stopped reading, so a restart neither misses nor repeats a post.

X hands out mentions and search results newest first with a `since_id` cursor; the adapter
ingests them oldest first and moves the checkpoint forward after each one. The ingest is
idempotent per (channel, external id), so the only cost of a checkpoint saved a little late
(a crash between ingesting and saving) is fetching a few posts again. A checkpoint never moves
backwards: two replicas polling the same job cannot undo each other's progress.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel

from townhall.db import Database, insert_or_ignore
from townhall.domain import utcnow


class PollCheckpoint(SQLModel, table=True):
    __tablename__ = "poll_checkpoints"

    key: str = Field(primary_key=True, max_length=120)
    since_id: str = Field(max_length=32)
    updated_at: datetime = Field(default_factory=utcnow)


def _newer(candidate: str, current: str) -> bool:
    """Snowflake ids are decimal strings of growing value: compare them as numbers."""
    return (len(candidate), candidate) > (len(current), current)


def read_checkpoint(session: Session, key: str) -> str | None:
    row = session.get(PollCheckpoint, key)
    return row.since_id if row else None


def advance_checkpoint(session: Session, key: str, since_id: str) -> None:
    now = utcnow()
    inserted = insert_or_ignore(
        session, PollCheckpoint, {"key": key, "since_id": since_id, "updated_at": now}, ["key"]
    )
    if inserted:
        return
    row = session.get(PollCheckpoint, key, with_for_update=True)
    if row is not None and _newer(since_id, row.since_id):
        row.since_id, row.updated_at = since_id, now
        session.add(row)


class Checkpoints:
    """The checkpoint store a polling adapter is given (it never sees the database itself)."""

    def __init__(self, db: Database):
        self.db = db

    async def get(self, key: str) -> str | None:
        return await self.db.run(read_checkpoint, key)

    async def advance(self, key: str, since_id: str) -> None:
        await self.db.run(advance_checkpoint, key, since_id)
