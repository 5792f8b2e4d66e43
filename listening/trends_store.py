"""The database side of emerging-issue detection: volumes, topics and pending vectors.

Functions here take a `Session` and do one thing each, so the job can compose them inside one
transaction per run: a run that dies half-way leaves the vectors in `message_vectors`, and the
next run places them again from scratch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import delete, func, insert, text, update
from sqlmodel import Session, col, select

from listening.models import Message
from listening.topics import Placement, TopicSpace
from listening.trend_tables import Alert, MessageVector, Topic, TopicMember, unpack_vectors
from listening.trends import WindowVolume

CHUNK = 5000
JOB_LOCK = 0x7472656E6473  # "trends": the advisory lock id of the job on PostgreSQL


def try_job_lock(session: Session) -> bool:
    """On PostgreSQL, only one replica runs the job at a time: a transaction-scoped advisory
    lock, released at commit. SQLite is a single process's database (and one writer anyway)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                {"key": JOB_LOCK}).scalar())


class SqlVolumes:
    """The detector's `Volumes` answered from `topic_members` (indexed by time and topic)."""

    def __init__(self, session: Session):
        self.session = session

    def window(self, start: datetime, end: datetime) -> dict[int, WindowVolume]:
        rows = self.session.exec(
            select(
                TopicMember.topic_id, func.count(),
                func.count(func.distinct(TopicMember.citizen_id)),
            )
            .where(TopicMember.at >= start, TopicMember.at < end)
            .group_by(TopicMember.topic_id)
        ).all()
        return {int(t): WindowVolume(int(n), int(c)) for t, n, c in rows}

    def baseline(self, topic_ids: Iterable[int], start: datetime, end: datetime) -> dict[int, int]:
        ids = list(topic_ids)
        found: dict[int, int] = {}
        for first in range(0, len(ids), 500):
            rows = self.session.exec(
                select(TopicMember.topic_id, func.count())
                .where(
                    col(TopicMember.topic_id).in_(ids[first:first + 500]),
                    TopicMember.at >= start, TopicMember.at < end,
                )
                .group_by(TopicMember.topic_id)
            ).all()
            found.update((int(t), int(n)) for t, n in rows)
        return found

    def total(self, start: datetime, end: datetime) -> int:
        return int(
            self.session.exec(
                select(func.count()).select_from(TopicMember)
                .where(TopicMember.at >= start, TopicMember.at < end)
            ).one()
        )

    def first_at(self) -> datetime | None:
        return self.session.exec(select(func.min(TopicMember.at))).one()


@dataclass(frozen=True)
class Pending:
    """Messages waiting to be placed, oldest first."""

    message_ids: list[int]
    citizen_ids: list[int]
    channels: list[str]
    times: list[datetime]
    vectors: np.ndarray


def pending_vectors(session: Session, dimension: int, limit: int) -> Pending:
    rows = session.exec(
        select(
            MessageVector.message_id, MessageVector.vector, Message.citizen_id, Message.channel,
            Message.sent_at,
        )
        .join(Message, col(Message.id) == MessageVector.message_id)
        .order_by(col(Message.sent_at), col(MessageVector.message_id))
        .limit(limit)
    ).all()
    return Pending(
        message_ids=[int(r[0]) for r in rows],
        citizen_ids=[int(r[2]) for r in rows],
        channels=[str(r[3]) for r in rows],
        times=[r[4] for r in rows],
        vectors=unpack_vectors([r[1] for r in rows], dimension),
    )


def save_placement(
    session: Session, space: TopicSpace, pending: Pending, placement: Placement
) -> None:
    """Store the new topics, the members and the touched centroids; drop the placed vectors."""
    first_seen: dict[int, datetime] = {}
    for topic_id, at in zip(placement.topics, pending.times, strict=True):
        first_seen.setdefault(int(topic_id), at)
    created = set(placement.created)
    if created:
        session.execute(
            insert(Topic),
            [
                {"id": topic_id, "centroid": b"", "size": 0, "status": "active",
                 "created_at": first_seen[topic_id], "last_message_at": first_seen[topic_id]}
                for topic_id in placement.created
            ],
        )
    members = [
        {"message_id": m, "topic_id": int(t), "citizen_id": c, "channel": ch, "at": at,
         "similarity": round(float(s), 4)}
        for m, t, c, ch, at, s in zip(
            pending.message_ids, placement.topics, pending.citizen_ids, pending.channels,
            pending.times, placement.similarity, strict=True,
        )
    ]
    for first in range(0, len(members), CHUNK):
        session.execute(insert(TopicMember), members[first:first + CHUNK])
    changes = []
    for topic_id in sorted(first_seen):
        centroid = space.centroid(topic_id)
        if centroid is not None:
            size, last_at = space.size(topic_id), space.last_at(topic_id)
        else:  # a singleton already forgotten within a long backlog: its message is its centre
            rows = np.flatnonzero(placement.topics == topic_id)
            centroid = pending.vectors[rows].mean(axis=0)
            centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
            size, last_at = len(rows), max(pending.times[k] for k in rows)
        changes.append({
            "id": topic_id, "centroid": centroid.astype(np.float32).tobytes(),
            "size": size, "last_message_at": last_at,
        })
    if changes:
        session.execute(update(Topic), changes)
    for first in range(0, len(pending.message_ids), CHUNK):
        session.execute(
            delete(MessageVector).where(
                col(MessageVector.message_id).in_(pending.message_ids[first:first + CHUNK])
            )
        )


def load_space(session: Session, space: TopicSpace, now: datetime) -> None:
    """Bring back the topics still live at `now`: every topic with more than one member seen
    within the retirement horizon, and recent singletons."""
    singles_since = now - space.forget_after
    rows = session.exec(
        select(Topic.id, Topic.centroid, Topic.size, Topic.last_message_at)
        .where(
            Topic.last_message_at >= now - space.retire_after,
            (Topic.size > 1) | (Topic.last_message_at >= singles_since),
            func.length(Topic.centroid) > 0,
        )
        .order_by(col(Topic.id))
    ).all()
    space.restore_many(
        [int(r[0]) for r in rows],
        np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
        if rows else np.zeros((0, space.dimension), dtype=np.float32),
        [int(r[2]) for r in rows],
        [r[3] for r in rows],
    )
    space.next_id = max(space.next_id, (session.exec(select(func.max(Topic.id))).one() or 0) + 1)


def newest_topic_id(session: Session) -> int:
    return int(session.exec(select(func.max(Topic.id))).one() or 0)


def prune(session: Session, before: datetime) -> None:
    """Forget placements older than any baseline needs, and topics left with nothing."""
    session.execute(delete(TopicMember).where(col(TopicMember.at) < before))
    alerted = select(Alert.topic_id)
    session.execute(
        delete(Topic).where(
            col(Topic.last_message_at) < before,
            Topic.status == "active",
            col(Topic.id).not_in(alerted),
        )
    )


def retention(baseline: timedelta) -> timedelta:
    """How long placements are kept: the baseline plus a day of slack."""
    return baseline + timedelta(days=1)
