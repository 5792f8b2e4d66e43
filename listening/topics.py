"""Online topic clustering: each new message joins the closest topic or starts its own.

Why online and centroid-based: a topic must keep its id from one run of the trends job to the
next (alerts, staff feedback and baselines hang on it), and each run should only look at the
messages that arrived since the last. A message joins the topic whose centroid (the normalised
mean of its members' embeddings) is most similar, when that similarity reaches `threshold`;
otherwise it starts a topic. Messages of one batch that match no existing topic are grouped
among themselves first (greedy leader clustering on their similarity matrix), so a burst that
arrives within one run becomes one topic, not many.

Most topics stay singletons: one stray post about nothing in particular. Those are forgotten
once they are older than `forget_after` (they no longer take part in matching), which keeps
the centroid matrix, and so the cost of a run, proportional to the recent volume.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np


@dataclass
class Placement:
    """Where a batch went: `topics[i]` and `similarity[i]` for its row i; `created` lists the
    new topics' ids, in the order they were created."""

    topics: np.ndarray
    similarity: np.ndarray
    created: list[int]


class TopicSpace:
    """Live topic centroids in memory. Ids come from `next_id` (the caller persists them)."""

    def __init__(
        self,
        dimension: int,
        *,
        threshold: float = 0.6,
        forget_after: timedelta = timedelta(hours=6),
        retire_after: timedelta = timedelta(days=8),
        next_id: int = 1,
    ):
        self.dimension = dimension
        self.threshold = threshold
        self.forget_after = forget_after
        self.retire_after = retire_after
        self.next_id = next_id
        self._ids: list[int] = []
        # row buffers with spare capacity, so adding topics does not copy the matrix each time
        self._sum_rows = np.zeros((256, dimension), dtype=np.float32)
        self._centroid_rows = np.zeros((256, dimension), dtype=np.float32)
        self._sizes: list[int] = []
        self._last_at: list[datetime] = []
        self._row: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def _sums(self) -> np.ndarray:
        return self._sum_rows[: len(self._ids)]

    @property
    def _centroids(self) -> np.ndarray:
        return self._centroid_rows[: len(self._ids)]

    def restore_many(
        self, ids: list[int], centroids: np.ndarray, sizes: list[int], last_at: list[datetime]
    ) -> None:
        """Bring back topics kept in the database (at start-up, or after another replica ran)."""
        self._ids, self._row, self._sizes, self._last_at = [], {}, [], []
        weights = np.maximum(np.asarray(sizes, dtype=np.float32), 1.0)[:, None]
        self._extend(list(ids), np.asarray(centroids, dtype=np.float32) * weights,
                     list(sizes), list(last_at))
        self.next_id = max([self.next_id, *(i + 1 for i in ids)])

    def centroid(self, topic_id: int) -> np.ndarray | None:
        row = self._row.get(topic_id)
        return None if row is None else self._centroids[row].copy()

    def similarity(self, first: int, second: int) -> float:
        """Cosine between two live topics' centroids (0 when either is not live)."""
        a, b = self.centroid(first), self.centroid(second)
        return 0.0 if a is None or b is None else float(a @ b)

    def last_at(self, topic_id: int) -> datetime | None:
        row = self._row.get(topic_id)
        return None if row is None else self._last_at[row]

    def size(self, topic_id: int) -> int:
        row = self._row.get(topic_id)
        return 0 if row is None else self._sizes[row]

    def place(self, vectors: np.ndarray, times: list[datetime], chunk: int = 1024) -> Placement:
        """Put each row of `vectors` (unit length, time order) in a topic, updating centroids.

        A long backlog goes through in chunks of `chunk` rows, oldest first, so that a topic
        born early in it is there for the rest; after each chunk the topics that have become
        stale by the chunk's time are forgotten, as between two runs, so a day's backlog costs
        what a day of runs would."""
        if len(vectors) > chunk:
            parts = []
            for start in range(0, len(vectors), chunk):
                part = times[start:start + chunk]
                parts.append(self.place(vectors[start:start + chunk], part, chunk))
                self.forget(max(part))
            return Placement(
                np.concatenate([p.topics for p in parts]),
                np.concatenate([p.similarity for p in parts]),
                [topic_id for p in parts for topic_id in p.created],
            )
        count = len(vectors)
        topics = np.zeros(count, dtype=np.int64)
        similarity = np.zeros(count, dtype=np.float32)
        created: list[int] = []
        if count == 0:
            return Placement(topics, similarity, created)
        vectors = np.asarray(vectors, dtype=np.float32)
        matched = np.zeros(count, dtype=bool)
        if len(self._ids):
            scores = vectors @ self._centroids.T
            best = scores.argmax(axis=1)
            best_score = scores[np.arange(count), best]
            matched = best_score >= self.threshold
            for i in np.flatnonzero(matched):
                topics[i] = self._ids[best[i]]
                similarity[i] = best_score[i]
        rest = np.flatnonzero(~matched)
        if len(rest):
            self._group_new(vectors, times, rest, topics, similarity, created)
        self._add_members(vectors, times, topics, created)
        return Placement(topics, similarity, created)

    def forget(self, now: datetime) -> list[int]:
        """Drop singletons last seen before `now - forget_after`, and any topic not seen since
        `now - retire_after`; returns their ids."""
        cutoff, retired = now - self.forget_after, now - self.retire_after
        keep = [
            row for row, (size, last) in enumerate(zip(self._sizes, self._last_at, strict=True))
            if (size > 1 and last >= retired) or last >= cutoff
        ]
        if len(keep) == len(self._ids):
            return []
        dropped = [self._ids[row] for row in set(range(len(self._ids))) - set(keep)]
        count = len(keep)
        self._sum_rows[:count] = self._sum_rows[keep]
        self._centroid_rows[:count] = self._centroid_rows[keep]
        self._ids = [self._ids[row] for row in keep]
        self._sizes = [self._sizes[row] for row in keep]
        self._last_at = [self._last_at[row] for row in keep]
        self._row = {topic_id: row for row, topic_id in enumerate(self._ids)}
        return dropped

    # --- internals -------------------------------------------------------------------------

    def _group_new(
        self,
        vectors: np.ndarray,
        times: list[datetime],
        rest: np.ndarray,
        topics: np.ndarray,
        similarity: np.ndarray,
        created: list[int],
    ) -> None:
        """Greedy leader clustering of the unmatched rows: the earliest unassigned row leads a
        new topic and takes every later unassigned row close enough to it."""
        pending = vectors[rest]
        close = (pending @ pending.T) >= self.threshold
        free = np.ones(len(rest), dtype=bool)
        leaders: list[int] = []
        for k in range(len(rest)):
            if not free[k]:
                continue
            members = np.flatnonzero(close[k] & free)
            free[members] = False
            topic_id = self.next_id + len(leaders)
            leaders.append(int(rest[k]))
            topics[rest[members]] = topic_id
            similarity[rest[members]] = pending[members] @ pending[k]
        new_ids = list(range(self.next_id, self.next_id + len(leaders)))
        self.next_id += len(leaders)
        created.extend(new_ids)
        zeros = np.zeros((len(leaders), self.dimension), dtype=np.float32)
        self._extend(new_ids, zeros, [0] * len(leaders), [times[i] for i in leaders])

    def _add_members(
        self, vectors: np.ndarray, times: list[datetime], topics: np.ndarray, created: list[int]
    ) -> None:
        rows = np.array([self._row[int(t)] for t in topics])
        np.add.at(self._sums, rows, vectors)
        for row, at in zip(rows, times, strict=True):
            self._sizes[row] += 1
            if at > self._last_at[row]:
                self._last_at[row] = at
        touched = np.unique(rows)
        norms = np.linalg.norm(self._sums[touched], axis=1, keepdims=True)
        self._centroids[touched] = self._sums[touched] / np.maximum(norms, 1e-9)

    def _extend(
        self, ids: list[int], sums: np.ndarray, sizes: list[int], last_at: list[datetime]
    ) -> None:
        """Add topics in one go (one copy of the matrices, not one per topic)."""
        start, end = len(self._ids), len(self._ids) + len(ids)
        if end > len(self._sum_rows):
            capacity = max(end, 2 * len(self._sum_rows))
            for name in ("_sum_rows", "_centroid_rows"):
                grown = np.zeros((capacity, self.dimension), dtype=np.float32)
                grown[:start] = getattr(self, name)[:start]
                setattr(self, name, grown)
        self._row.update((topic_id, start + k) for k, topic_id in enumerate(ids))
        self._ids.extend(ids)
        self._sum_rows[start:end] = sums
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        self._centroid_rows[start:end] = sums / np.maximum(norms, 1e-9)
        self._sizes.extend(sizes)
        self._last_at.extend(last_at)
