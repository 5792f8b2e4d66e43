"""The weekly digest's figures, gathered from the database: what managers read on Monday.

Everything here is a query and nothing is rendered (`digest_render` does that, `digest_charts`
draws). Each figure is an SQL GROUP BY over a range of the indexed `messages.sent_at`, grouping
by the plain label copies `messages.category` and `messages.sentiment`: a busy city stores a
million messages a week, and pulling them into Python would take minutes instead of seconds.
Days are cut at local midnights (`digest_weeks`), so "Tuesday" is the city's Tuesday.

What counts as a message: what residents wrote to us (`kind` "message") and the public posts we
listened to (`kind` "listening", which ingest stores for `listen_only` events). Button presses
and poll answers are not messages. Cases, FAQ feedback and response times come from
`digest_cases`; representative quotes from `digest_quotes`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import Session, col

from listening.digest_cases import (
    CaseFigures,
    FaqFigures,
    ResponseTimes,
    Satisfaction,
    Targets,
    case_figures,
    faq_figures,
    response_times,
    satisfaction,
)
from listening.digest_quotes import Quote, redact, representative_quotes
from listening.digest_weeks import Week, last_complete_week, week_bounds
from listening.models import Message
from listening.trend_tables import Alert
from townhall.domain import utcnow

MESSAGE_KINDS = ("message", "listening")
PUBLIC_KIND = "listening"
SENTIMENTS = ("negative", "neutral", "positive")
TOP_ISSUES = 5  # categories that get quotes and appear in the Slack summary
MAX_EMERGING = 10
FAQ_RESPONDER = "faq"  # responders.faq.FaqResponder.name

__all__ = [
    "CaseFigures",
    "Digest",
    "FaqFigures",
    "PollOption",
    "PollResult",
    "Quote",
    "ResponseTimes",
    "Satisfaction",
    "Targets",
    "Week",
    "gather_digest",
    "last_complete_week",
    "week_bounds",
]


# --- what the digest holds --------------------------------------------------------------------


@dataclass(frozen=True)
class DayVolume:
    day: date
    by_channel: dict[str, int]  # citizen messages and public posts together
    public_posts: int

    @property
    def total(self) -> int:
        return sum(self.by_channel.values())


@dataclass(frozen=True)
class CategoryCount:
    id: str
    name: str
    count: int
    previous: int

    @property
    def change_pct(self) -> float | None:
        """Change vs the previous week in percent; None when there was nothing to compare."""
        if self.previous == 0:
            return None
        return (self.count - self.previous) * 100.0 / self.previous


@dataclass(frozen=True)
class SentimentDay:
    day: date
    negative: int
    neutral: int
    positive: int

    @property
    def total(self) -> int:
        return self.negative + self.neutral + self.positive


@dataclass(frozen=True)
class EmergingIssue:
    """An alert raised or still going on during the week (dismissed ones are left out)."""

    label: str
    category: str  # the category's name
    status: str
    messages: int
    citizens: int
    growth: float
    channels: dict[str, int]
    sentiment: str | None
    first_alert: datetime  # local time
    examples: tuple[str, ...]  # redacted


@dataclass(frozen=True)
class PollOption:
    label: str
    votes: int


@dataclass(frozen=True)
class PollResult:
    question: str
    options: tuple[PollOption, ...]
    voters: int


@dataclass(frozen=True)
class Digest:
    week: Week
    city: str
    generated_at: datetime
    channels: tuple[str, ...]  # channels with messages this week, busiest first
    days: tuple[DayVolume, ...]
    messages: int  # citizen messages and public posts
    public_posts: int
    previous_messages: int
    people: int  # distinct accounts that wrote or posted
    unclassified: int
    categories: tuple[CategoryCount, ...]  # most frequent this week first
    sentiment_days: tuple[SentimentDay, ...]
    previous_sentiment: SentimentDay
    cases: CaseFigures
    response: ResponseTimes
    faq: FaqFigures
    satisfaction: Satisfaction
    emerging: tuple[EmergingIssue, ...]
    quotes: dict[str, tuple[Quote, ...]] = field(default_factory=dict)  # category id -> quotes
    polls: tuple[PollResult, ...] = ()

    @property
    def citizen_messages(self) -> int:
        return self.messages - self.public_posts

    @property
    def top_issues(self) -> tuple[CategoryCount, ...]:
        return tuple(c for c in self.categories if c.count > 0)[:TOP_ISSUES]

    @property
    def sentiment_week(self) -> SentimentDay:
        days = self.sentiment_days
        return SentimentDay(
            self.week.days[0], sum(d.negative for d in days), sum(d.neutral for d in days),
            sum(d.positive for d in days),
        )

    @property
    def is_empty(self) -> bool:
        """Nothing happened: no message, no case activity, no alert, no poll."""
        return not (
            self.messages or self.cases.opened or self.cases.resolved or self.response.responded
            or self.emerging or self.polls
        )


# --- gathering --------------------------------------------------------------------------------


def _in_range(start: datetime, end: datetime) -> tuple[Any, ...]:
    sent_at = col(Message.sent_at)
    return sent_at >= start, sent_at < end, col(Message.kind).in_(MESSAGE_KINDS)


@dataclass
class _WeekCounts:
    """The week's message counts as read from the grouped rows (filled by `_this_week`)."""

    by_channel: list[dict[str, int]] = field(default_factory=lambda: [{} for _ in range(7)])
    public: list[int] = field(default_factory=lambda: [0] * 7)
    categories: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sentiments: list[dict[str, int]] = field(
        default_factory=lambda: [dict.fromkeys(SENTIMENTS, 0) for _ in range(7)])
    unclassified: int = 0
    faq_replies: int = 0


def _this_week(session: Session, week: Week) -> _WeekCounts:
    """Messages per day by channel, kind, category and sentiment, plus the FAQ's replies.

    One grouped query per day rather than one query with a computed day: SQLite groups by
    sorting, and seven small sorts cost about half of one large sort plus the CASE that would
    name the day (measured on a million messages).
    """
    counts = _WeekCounts()
    keys = (col(Message.channel), col(Message.kind), col(Message.category),
            col(Message.sentiment))
    faq = func.sum(case((col(Message.responder) == FAQ_RESPONDER, 1), else_=0))
    for day in range(7):
        query = (select(*keys, func.count(), faq)
                 .where(*_in_range(week.bounds[day], week.bounds[day + 1])).group_by(*keys))
        for channel, kind, category, sentiment, count, replies in session.execute(query):
            by_channel = counts.by_channel[day]
            by_channel[channel] = by_channel.get(channel, 0) + count
            counts.public[day] += count if kind == PUBLIC_KIND else 0
            counts.faq_replies += int(replies or 0)
            if category:
                counts.categories[category] += count
            else:
                counts.unclassified += count
            if sentiment in SENTIMENTS:
                counts.sentiments[day][sentiment] += count
    return counts


def _previous_week(session: Session, week: Week) -> tuple[dict[str, int], SentimentDay, int]:
    """The week before: messages per category, per sentiment, and in all."""
    keys = (col(Message.category), col(Message.sentiment))
    query = select(*keys, func.count()).where(*_in_range(week.start, week.end)).group_by(*keys)
    categories: dict[str, int] = defaultdict(int)
    sentiments = dict.fromkeys(SENTIMENTS, 0)
    total = 0
    for category, sentiment, count in session.execute(query):
        total += count
        if category:
            categories[category] += count
        if sentiment in SENTIMENTS:
            sentiments[sentiment] += count
    return categories, SentimentDay(week.days[0], **sentiments), total


def _people(session: Session, week: Week) -> int:
    sent_at = col(Message.sent_at)
    query = select(func.count(func.distinct(col(Message.citizen_id)))).where(
        sent_at >= week.start, sent_at < week.end, col(Message.kind).in_(MESSAGE_KINDS)
    )
    return int(session.execute(query).scalar_one())


def _emerging(
    session: Session, week: Week, names: Mapping[str, str]
) -> tuple[EmergingIssue, ...]:
    zone = week.zone
    alerts = session.execute(
        select(Alert)
        .where(Alert.status != "dismissed", Alert.first_alert_at < week.end,
               Alert.updated_at >= week.start)
        .order_by(col(Alert.messages).desc(), col(Alert.id))
        .limit(MAX_EMERGING)
    ).scalars().all()
    issues = []
    for alert in alerts:
        examples = [e.get("text", "") if isinstance(e, dict) else str(e) for e in alert.examples]
        issues.append(EmergingIssue(
            label=redact(alert.label), category=names.get(alert.category or "", "")
            or (alert.category or ""), status=alert.status, messages=alert.messages,
            citizens=alert.citizens, growth=alert.growth,
            channels={str(k): int(v) for k, v in alert.channels.items()},
            sentiment=alert.sentiment, first_alert=alert.first_alert_at.astimezone(zone),
            examples=tuple(redact(text) for text in examples[:2] if text),
        ))
    return tuple(issues)


def gather_digest(
    session: Session,
    week: Week,
    *,
    category_names: Mapping[str, str],
    targets: Targets | None = None,
    city: str = "",
    polls: Sequence[PollResult] = (),
    now: datetime | None = None,
) -> Digest:
    """Every figure of the digest for `week`, compared with the week before.

    `category_names` maps category ids to what managers read (config/categories.yaml); a
    category missing from it is shown by its id. `polls` is given by the caller: the poll
    tables belong to the polls package.
    """
    previous = week.previous()
    counts = _this_week(session, week)
    before, previous_sentiment, previous_messages = _previous_week(session, previous)
    channel_totals: dict[str, int] = defaultdict(int)
    for by_channel in counts.by_channel:
        for channel, count in by_channel.items():
            channel_totals[channel] += count
    channels = tuple(sorted(channel_totals, key=lambda c: (-channel_totals[c], c)))
    days = tuple(
        DayVolume(week.days[i], {c: counts.by_channel[i].get(c, 0) for c in channels},
                  counts.public[i])
        for i in range(7)
    )
    ranked = sorted(
        (CategoryCount(cid, category_names.get(cid, cid), counts.categories.get(cid, 0),
                       before.get(cid, 0))
         for cid in {*counts.categories, *before}),
        key=lambda c: (-c.count, -c.previous, c.name),
    )
    sentiment_days = tuple(
        SentimentDay(week.days[i], **counts.sentiments[i]) for i in range(7)
    )
    messages = sum(channel_totals.values())
    top = [c.id for c in ranked if c.count > 0][:TOP_ISSUES]
    targets = targets or Targets()
    return Digest(
        week=week,
        city=city,
        generated_at=now or utcnow(),
        channels=channels,
        days=days,
        messages=messages,
        public_posts=sum(counts.public),
        previous_messages=previous_messages,
        people=_people(session, week) if messages else 0,
        unclassified=counts.unclassified,
        categories=tuple(ranked),
        sentiment_days=sentiment_days,
        previous_sentiment=previous_sentiment,
        cases=case_figures(session, week.bounds, previous.bounds),
        response=response_times(session, week.start, week.end, targets),
        faq=faq_figures(session, week.start, week.end, counts.faq_replies),
        satisfaction=satisfaction(session, week.start, week.end),
        emerging=_emerging(session, week, category_names),
        quotes=representative_quotes(session, week.bounds, top),
        polls=tuple(polls),
    )
