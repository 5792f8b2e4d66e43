"""Representative quotes for the digest's top issues, with personal details taken out.

A manager understands an issue faster from three residents' own words than from a count. The
words are picked as the ones the category classifier was most sure about (the highest category
score), among texts long enough to say something and short enough to read, never an offensive
one, and never the same text twice (a copied post counts once). The candidates are a sample
spread over the week's days, read with small index-ordered queries: ranking every message of a
busy week by a score inside JSON took seconds; the sample takes milliseconds.

Quotes are redacted before they leave this module: e-mail addresses, phone numbers and @handles
become placeholders, and no name or id of the sender is ever read. A name typed inside a message
("I'm Jo Smith from ...") cannot be recognised reliably and may remain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from listening.models import Message
from townhall.redact import redact

PER_CATEGORY = 3
PER_DAY = 30  # candidates per category and day
MIN_CHARS = 30
MAX_CHARS = 300
QUOTE_KINDS = ("message", "listening")
OFFENSIVE = "offensive"  # the abuse label of classifiers.tweet_model


@dataclass(frozen=True)
class Quote:
    text: str  # redacted
    channel: str
    public: bool  # a listened public post rather than a message to the city
    sentiment: str | None


def _key(text: str) -> str:
    """What makes two texts "the same" for quoting: letters and digits, case-folded."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _candidates(
    session: Session, category: str, start: datetime, end: datetime, limit: int
) -> list[Any]:
    """Quotable messages of one category sent in [start, end), at most `limit`, in time order.

    The LIMIT lets the database walk the `sent_at` index and stop early, so the cost does not
    grow with the week's volume; the classification is read only for the rows looked at.
    """
    sent_at = col(Message.sent_at)
    text = col(Message.text)
    classification = col(Message.classification)
    abuse = classification[("labels", "abuse")].as_string()
    query = (
        select(text, col(Message.channel), col(Message.kind), col(Message.sentiment),
               classification[("scores", "category")].as_float())
        .where(
            sent_at >= start, sent_at < end, col(Message.category) == category,
            col(Message.kind).in_(QUOTE_KINDS),
            func.length(text).between(MIN_CHARS, MAX_CHARS), ~text.startswith("/"),
            or_(abuse.is_(None), abuse != OFFENSIVE),
        )
        .order_by(sent_at)
        .limit(limit)
    )
    return list(session.execute(query).all())


def representative_quotes(
    session: Session, bounds: Sequence[datetime], categories: Sequence[str],
    per_category: int = PER_CATEGORY,
) -> dict[str, tuple[Quote, ...]]:
    """Up to `per_category` quotes for each of `categories`; `bounds` are the days' starts and
    the end of the last day.

    Candidates are the first `PER_DAY` quotable messages of each day (a sample spread over the
    whole week rather than over its busiest hour); among them, the ones the classifier was
    most sure about win, each distinct text once.
    """
    quotes: dict[str, tuple[Quote, ...]] = {}
    for category in categories:
        rows = [
            row for day in range(len(bounds) - 1)
            for row in _candidates(session, category, bounds[day], bounds[day + 1], PER_DAY)
        ]
        rows.sort(key=lambda row: -(row[4] or 0.0))  # stable: ties stay in time order
        found: list[Quote] = []
        seen: set[str] = set()
        for raw, channel, kind, sentiment, _score in rows:
            clean = redact(raw)
            key = _key(clean)
            if key and key not in seen:
                seen.add(key)
                found.append(Quote(clean, channel, kind == "listening", sentiment))
            if len(found) == per_category:
                break
        quotes[category] = tuple(found)
    return quotes
