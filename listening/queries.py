"""Keyword listening queries: the ones in the settings plus the ones staff add from Slack.

The configured queries are part of the deployment and cannot be removed at run time; staff
manage their own list (`/townhall listen add|remove|list`) through `ListeningQueries`, which the
Slack command and the X adapter share. Queries are X search syntax, e.g.
`"Springfield" (pothole OR streetlight) -is:retweet`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from townhall.db import Database, insert_or_ignore
from townhall.domain import utcnow

# X's recent search accepts 512 characters per query on the lower tiers (4096 on Pro)
MAX_QUERY_LENGTH = 512


class ListeningQuery(SQLModel, table=True):
    __tablename__ = "listening_queries"
    __table_args__ = (UniqueConstraint("channel", "query"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    query: str = Field(max_length=MAX_QUERY_LENGTH)
    added_by: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


@dataclass(frozen=True)
class QueryEntry:
    query: str
    source: str  # "config" (settings, read-only) or "added" (from Slack)
    added_by: str = ""


def normalize_query(query: str) -> str:
    """One query, one spelling: collapse whitespace so `a  b` and `a b` are the same query."""
    return " ".join(query.split())


def _added(session: Session, channel: str) -> list[ListeningQuery]:
    return list(
        session.exec(
            select(ListeningQuery)
            .where(ListeningQuery.channel == channel)
            .order_by(col(ListeningQuery.id))
        ).all()
    )


def _insert(session: Session, channel: str, query: str, added_by: str) -> bool:
    values = {"channel": channel, "query": query, "added_by": added_by, "created_at": utcnow()}
    return insert_or_ignore(session, ListeningQuery, values, ["channel", "query"])


def _delete(session: Session, channel: str, query: str) -> bool:
    row = session.exec(
        select(ListeningQuery).where(
            ListeningQuery.channel == channel, ListeningQuery.query == query
        )
    ).first()
    if row is None:
        return False
    session.delete(row)
    return True


class ListeningQueries:
    """The listening queries of one channel: configured ones first, then the added ones."""

    def __init__(self, db: Database, configured: Sequence[str] = (), *, channel: str = "x"):
        self.db = db
        self.channel = channel
        self.configured = list(dict.fromkeys(normalize_query(q) for q in configured if q.strip()))

    async def add(self, query: str, *, added_by: str = "") -> bool:
        """Add a query; False if it is already listened to. ValueError if X would refuse it."""
        query = normalize_query(query)
        if not query:
            raise ValueError("the query is empty")
        if len(query) > MAX_QUERY_LENGTH:
            raise ValueError(f"X accepts at most {MAX_QUERY_LENGTH} characters per query")
        if query in self.configured:
            return False
        return await self.db.run(_insert, self.channel, query, added_by[:64])

    async def remove(self, query: str) -> bool:
        """Remove an added query; False if there is none. ValueError for a configured one."""
        query = normalize_query(query)
        if query in self.configured:
            raise ValueError("this query is in the settings file; remove it there")
        return await self.db.run(_delete, self.channel, query)

    async def list(self) -> list[QueryEntry]:
        rows = await self.db.run(_added, self.channel)
        entries = [QueryEntry(q, "config") for q in self.configured]
        entries += [
            QueryEntry(r.query, "added", r.added_by) for r in rows if r.query not in self.configured
        ]
        return entries

    async def active(self) -> list[str]:
        """The queries to poll now (what the X adapter calls before each round)."""
        return [entry.query for entry in await self.list()]
