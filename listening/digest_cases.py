"""The digest's figures about our side of the conversation: cases, response times, FAQ feedback.

Every figure is a flow within the week, so that each case counts once across digests and a
digest made again later shows the same numbers:

- opened / resolved: cases created / resolved during the week; still open: created before the
  week's end and not resolved by then.
- time to first response: for cases whose first staff reply came during the week, from the
  case's creation to that reply; time to resolution likewise for cases resolved during the week.
- on-time rates (when a target is configured): the share of those replies / resolutions that
  came within the target, plus how many cases were still waiting past the target at the week's
  end, so that a team that answers nothing does not look punctual.
- FAQ: replies the FAQ gave to the week's messages, and the "Did this help?" answers given to
  them. The stored responder does not tell an answer from a "which of these did you mean?"
  question, so the reply count holds both; the helped rate is exact.
- satisfaction: the 1-5 ratings citizens gave (or changed) during the week, and a few of their
  comments, redacted like the quotes.

Medians are taken in Python over the week's cases (thousands, not millions); the counts are SQL.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, false, func, or_, select
from sqlmodel import Session, col

from listening.digest_weeks import day_bucket
from listening.models import Message
from responders.faq_store import FaqFeedback
from responders.models import Case, CaseRating
from townhall.redact import redact

HOUR = 3600.0


@dataclass(frozen=True)
class Targets:
    """Service-level targets in hours (DigestSettings); None = no compliance figure."""

    first_response_hours: float | None = None
    resolution_hours: float | None = None


@dataclass(frozen=True)
class CaseFigures:
    opened: int
    resolved: int
    open_at_end: int
    opened_previous: int
    resolved_previous: int
    opened_per_day: tuple[int, ...]
    resolved_per_day: tuple[int, ...]


@dataclass(frozen=True)
class ResponseTimes:
    responded: int  # cases that got their first staff reply this week
    first_response_median_h: float | None
    resolved: int
    resolution_median_h: float | None
    targets: Targets
    first_response_on_time: int  # of `responded`, within the target (0 without a target)
    resolution_on_time: int
    waiting_past_target: int  # open, never answered, older than the target at the week's end
    open_past_target: int  # open, older than the resolution target at the week's end

    @property
    def first_response_compliance(self) -> float | None:
        """Share (0-1) of this week's first replies within the target."""
        if self.targets.first_response_hours is None or not self.responded:
            return None
        return self.first_response_on_time / self.responded

    @property
    def resolution_compliance(self) -> float | None:
        if self.targets.resolution_hours is None or not self.resolved:
            return None
        return self.resolution_on_time / self.resolved


@dataclass(frozen=True)
class FaqFigures:
    replies: int  # FAQ replies to this week's messages (answers and "which did you mean?")
    rated: int  # of those, answers that got a "Did this help?" answer
    helpful: int

    @property
    def helped_rate(self) -> float | None:
        return self.helpful / self.rated if self.rated else None


@dataclass(frozen=True)
class Satisfaction:
    """Citizens' 1-5 ratings of resolved cases, given during the week."""

    ratings: int
    scores: tuple[int, int, int, int, int]  # how many 1s, 2s... 5s
    comments: tuple[str, ...]  # the week's comments, newest first (a few)

    @property
    def average(self) -> float | None:
        if not self.ratings:
            return None
        return sum(score * count for score, count in zip(range(1, 6), self.scores,
                                                         strict=True)) / self.ratings

    @property
    def satisfied_rate(self) -> float | None:
        """Share of 4s and 5s: the usual CSAT figure."""
        return (self.scores[3] + self.scores[4]) / self.ratings if self.ratings else None


def satisfaction(session: Session, start: datetime, end: datetime, comments: int = 3
                 ) -> Satisfaction:
    updated = col(CaseRating.updated_at)
    rows = session.execute(
        select(col(CaseRating.score), func.count())
        .where(updated >= start, updated < end)
        .group_by(col(CaseRating.score))
    ).all()
    counts = dict.fromkeys(range(1, 6), 0)
    for score, count in rows:
        if score in counts:
            counts[int(score)] = int(count)
    texts = session.execute(
        select(col(CaseRating.comment))
        .where(updated >= start, updated < end, col(CaseRating.comment).is_not(None))
        .order_by(updated.desc())
        .limit(comments)
    ).scalars().all()
    scores = (counts[1], counts[2], counts[3], counts[4], counts[5])
    return Satisfaction(sum(scores), scores, tuple(redact(t) for t in texts if t))


def _count(session: Session, query: Select) -> int:
    return int(session.execute(query).scalar_one())


def _unresolved_at(moment: datetime) -> Any:
    return or_(col(Case.resolved_at).is_(None), col(Case.resolved_at) >= moment)


def _older_than(moment: datetime, hours: float | None) -> Any:
    if hours is None:
        return false()
    return col(Case.created_at) < moment - timedelta(hours=hours)


def _late(session: Session, end: datetime, targets: Targets) -> tuple[int, int]:
    """Cases open at `end`: (never answered and older than the first-response target, older
    than the resolution target), in one scan."""
    if targets.first_response_hours is None and targets.resolution_hours is None:
        return 0, 0
    first = col(Case.first_response_at)
    unanswered = or_(first.is_(None), first >= end)
    waiting = and_(_older_than(end, targets.first_response_hours), unanswered)
    late = _older_than(end, targets.resolution_hours)
    row = session.execute(
        select(func.sum(case((waiting, 1), else_=0)), func.sum(case((late, 1), else_=0)))
        .where(col(Case.created_at) < end, _unresolved_at(end))
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


def _per_day(session: Session, column: Any, bounds: Sequence[datetime]) -> list[int]:
    """Cases per day of `bounds` by one of their timestamps."""
    inner = (
        select(day_bucket(column, bounds).label("day"))
        .where(column >= bounds[0], column < bounds[-1])
        .subquery()
    )
    counts = [0] * (len(bounds) - 1)
    rows = session.execute(select(inner.c.day, func.count()).group_by(inner.c.day)).all()
    for day, count in rows:
        counts[int(day)] = int(count)
    return counts


def case_figures(
    session: Session, bounds: Sequence[datetime], previous_bounds: Sequence[datetime]
) -> CaseFigures:
    """Cases opened and resolved per day over the week and the one before, and the backlog."""
    both = (*previous_bounds[:-1], *bounds)
    opened = _per_day(session, col(Case.created_at), both)
    resolved = _per_day(session, col(Case.resolved_at), both)
    end = bounds[-1]
    open_at_end = _count(session, select(func.count(col(Case.id))).where(
        col(Case.created_at) < end, _unresolved_at(end)))
    return CaseFigures(
        opened=sum(opened[7:]), resolved=sum(resolved[7:]), open_at_end=open_at_end,
        opened_previous=sum(opened[:7]), resolved_previous=sum(resolved[:7]),
        opened_per_day=tuple(opened[7:]), resolved_per_day=tuple(resolved[7:]),
    )


def _hours(session: Session, done: Any, start: datetime, end: datetime) -> list[float]:
    """Hours from creation to `done` for the cases whose `done` fell within the week.

    The difference is computed in SQL so that only one float per case crosses over, not two
    timestamps to parse (a busy week has tens of thousands of cases).
    """
    created = col(Case.created_at)
    if session.get_bind().dialect.name == "sqlite":
        hours = (func.julianday(done) - func.julianday(created)) * 24.0
    else:
        hours = func.extract("epoch", done - created) / HOUR
    rows = session.execute(select(hours).where(done >= start, done < end)).scalars()
    return [max(0.0, float(value)) for value in rows]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _on_time(values: list[float], target: float | None) -> int:
    return 0 if target is None else sum(1 for hours in values if hours <= target)


def response_times(
    session: Session, start: datetime, end: datetime, targets: Targets
) -> ResponseTimes:
    first = _hours(session, col(Case.first_response_at), start, end)
    resolution = _hours(session, col(Case.resolved_at), start, end)
    waiting, open_late = _late(session, end, targets)
    return ResponseTimes(
        responded=len(first),
        first_response_median_h=_median(first),
        resolved=len(resolution),
        resolution_median_h=_median(resolution),
        targets=targets,
        first_response_on_time=_on_time(first, targets.first_response_hours),
        resolution_on_time=_on_time(resolution, targets.resolution_hours),
        waiting_past_target=waiting,
        open_past_target=open_late,
    )


def faq_figures(session: Session, start: datetime, end: datetime, replies: int) -> FaqFigures:
    """"Did this help?" answers about the FAQ's replies to messages sent during the week
    (`replies` is counted with the week's messages, in the same scan)."""
    helpful = col(FaqFeedback.helpful)
    sent_at = col(Message.sent_at)
    rows = session.execute(
        select(helpful, func.count())
        .join(Message, col(FaqFeedback.message_id) == col(Message.id))
        .where(sent_at >= start, sent_at < end)
        .group_by(helpful)
    ).all()
    counts = {bool(helpful): int(count) for helpful, count in rows}
    return FaqFigures(
        replies=replies, rated=counts.get(True, 0) + counts.get(False, 0),
        helpful=counts.get(True, 0),
    )
