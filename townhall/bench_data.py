"""Synthetic data for the trends benchmark: messages with embeddings, written in bulk.

The embeddings are drawn, not computed (encoding 100,000 texts would take minutes and is not
what the benchmark measures): half the messages belong to 200 steady themes (cosine about 0.8
to their theme), the rest are unrelated singletons, and three themes burst in the last two
hours, so the job has both placing and alerting to do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import insert

from listening.models import Citizen, Conversation, Message
from listening.trend_tables import MessageVector, pack_vector
from townhall.db import Database

DIMENSION = 384
THEMES = 200
BURSTS = 3
CHUNK = 5000


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def fill_trends_window(
    db: Database,
    messages: int,
    *,
    seed: int = 7,
    start: datetime | None = None,
    hours: float = 24.0,
    first_id: int = 0,
    progress: Callable[[int], None] | None = None,
) -> datetime:
    """Write `messages` messages (ids after `first_id`) over `hours` from `start` (default:
    the 24 hours up to the current hour); returns the end of that period."""
    rng = np.random.default_rng(seed)
    end = (start + timedelta(hours=hours)) if start else datetime.now(UTC).replace(
        minute=0, second=0, microsecond=0
    )
    start = start or end - timedelta(hours=hours)
    themes = _unit(
        np.random.default_rng(0).standard_normal((THEMES + BURSTS, DIMENSION), dtype=np.float32)
    )
    span = (end - start).total_seconds()
    offsets = np.sort(rng.uniform(0, span, messages))
    kind = rng.random(messages)
    theme = rng.integers(0, THEMES, messages)
    late = offsets > span - min(7200.0, span / 2)
    bursting = late & (kind < 0.15)
    theme[bursting] = THEMES + rng.integers(0, BURSTS, int(bursting.sum()))
    noise = _unit(rng.standard_normal((messages, DIMENSION), dtype=np.float32))
    themed = (kind < 0.5) | bursting
    vectors = np.where(themed[:, None], _unit(0.8 * themes[theme] + 0.6 * noise), noise)
    citizens = max(messages // 5, 1)
    citizen_of = rng.integers(0, citizens, messages) + first_id + 1
    with db.session() as session:
        if first_id == 0:
            for low in range(0, citizens, CHUNK):
                ids = range(low + 1, min(low + CHUNK, citizens) + 1)
                session.execute(insert(Citizen), [
                    {"id": i, "channel": "telegram", "pseudonym": f"bench-{i}",
                     "created_at": start, "last_seen_at": start} for i in ids
                ])
                session.execute(insert(Conversation), [
                    {"id": i, "citizen_id": i, "channel": "telegram", "chat_key": str(i),
                     "address": {"channel": "telegram", "chat_id": str(i)},
                     "created_at": start, "last_message_at": start} for i in ids
                ])
        for low in range(0, messages, CHUNK):
            rows, vector_rows = [], []
            for k in range(low, min(low + CHUNK, messages)):
                message_id = first_id + k + 1
                at = start + timedelta(seconds=float(offsets[k]))
                citizen = int((citizen_of[k] - 1) % citizens) + 1
                text = f"bench message {message_id} about theme {int(theme[k])}"
                rows.append({
                    "id": message_id, "channel": "telegram", "external_id": f"bench-{message_id}",
                    "citizen_id": citizen, "conversation_id": citizen, "kind": "message",
                    "text": text, "event": {}, "language": "en", "category": "other",
                    "sentiment": "neutral", "sent_at": at, "received_at": at, "handled_at": at,
                })
                vector_rows.append({"message_id": message_id, "vector": pack_vector(vectors[k])})
            session.execute(insert(Message), rows)
            session.execute(insert(MessageVector), vector_rows)
            if progress:
                progress(len(rows))
    return end
