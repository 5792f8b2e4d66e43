"""Emerging issues: which topics grow well beyond their own normal volume right now.

Why a share, not a count: the city's volume has a daily rhythm (quiet nights, busy mornings), so
a topic's expected volume in the current window is its share of the baseline period times the
total volume of the current window. A topic that is always 2% of the chatter stays at 2% at
8 am and at 3 am; a water main break goes from nothing to a good part of the current window.

A topic is raised when, in the current window, it has enough messages from enough distinct
citizens, grew `min_growth` times beyond its expected volume, and that many messages would be
very unlikely by chance (Poisson tail under the expected volume). A topic never seen before has
a small prior share, so its first burst can be raised, while a single stray post cannot.

The rules are pure: `Detector.signals` reads volumes through the `Volumes` protocol, which the
scheduled job answers from the database and the evaluation answers from memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

import numpy as np
from scipy.stats import poisson

if TYPE_CHECKING:
    from townhall.settings import TrendsSettings


@dataclass(frozen=True)
class WindowVolume:
    messages: int
    citizens: int


class Volumes(Protocol):
    def window(self, start: datetime, end: datetime) -> dict[int, WindowVolume]:
        """Per topic with a message in [start, end): its messages and distinct citizens."""
        ...

    def baseline(self, topic_ids: Iterable[int], start: datetime, end: datetime) -> dict[int, int]:
        """Messages per topic in [start, end) (topics without any may be left out)."""
        ...

    def total(self, start: datetime, end: datetime) -> int:
        """All messages placed in any topic in [start, end)."""
        ...


@dataclass(frozen=True)
class Rules:
    """When a topic counts as emerging; the defaults are tuned on the development stream."""

    window: timedelta = timedelta(minutes=60)
    baseline: timedelta = timedelta(days=7)
    min_messages: int = 5
    min_citizens: int = 5
    min_growth: float = 8.0
    max_p_value: float = 1e-5
    prior_messages: float = 1.0  # a new topic's assumed baseline, in messages
    min_history: timedelta = timedelta(hours=12)  # a baseline shorter than this is stretched
    quiet: timedelta = timedelta(hours=6)  # an alert that stopped growing this long is closed
    forget_singletons: timedelta = timedelta(hours=3)  # a lone message stops attracting others
    dismissed_similarity: float = 0.8  # a topic this close to a dismissed one stays silent
    same_issue_similarity: float = 0.7  # a topic this close to an alerted one updates it

    @classmethod
    def from_settings(cls, trends: TrendsSettings) -> Rules:
        return cls(
            window=timedelta(minutes=trends.window_minutes),
            baseline=timedelta(days=trends.baseline_days),
            min_messages=trends.min_messages,
            min_citizens=trends.min_citizens,
            min_growth=trends.min_growth,
        )


@dataclass(frozen=True)
class Signal:
    """A topic growing now: the figures an alert shows."""

    topic_id: int
    at: datetime
    messages: int
    citizens: int
    expected: float
    growth: float
    p_value: float


@dataclass
class Detector:
    rules: Rules = field(default_factory=Rules)

    def signals(self, volumes: Volumes, now: datetime, since: datetime) -> list[Signal]:
        """Topics emerging at `now`; `since` is when the data starts (no baseline before)."""
        rules = self.rules
        window_start = now - rules.window
        current = {
            topic_id: volume
            for topic_id, volume in volumes.window(window_start, now).items()
            if volume.messages >= rules.min_messages and volume.citizens >= rules.min_citizens
        }
        if not current:
            return []
        base_start = max(now - rules.baseline, since)
        history = window_start - base_start
        total_now = volumes.total(window_start, now)
        total_base = volumes.total(base_start, window_start) if history > timedelta(0) else 0
        # a short history (a new deployment) is treated as if it were min_history long at
        # the current rate, so that early topics are not all "new"
        if history < rules.min_history:
            scale = rules.min_history / rules.window
            total_base = max(total_base, int(total_now * scale))
        baseline = volumes.baseline(current, base_start, window_start)
        found = []
        for topic_id, volume in current.items():
            share = (baseline.get(topic_id, 0) + rules.prior_messages) / max(total_base, 1)
            expected = max(total_now * share, 1e-3)
            growth = volume.messages / expected
            p_value = float(poisson.sf(volume.messages - 1, expected))
            if growth >= rules.min_growth and p_value <= rules.max_p_value:
                found.append(
                    Signal(topic_id, now, volume.messages, volume.citizens,
                           round(expected, 3), round(growth, 1), p_value)
                )
        found.sort(key=lambda s: (s.p_value, -s.messages))
        return found


def similar_to_any(
    centroid: np.ndarray | None, patterns: list[np.ndarray], threshold: float
) -> bool:
    """Whether a topic looks like one staff already called "not an issue"."""
    if centroid is None or not patterns:
        return False
    return bool(float(np.max(np.vstack(patterns) @ centroid)) >= threshold)



@dataclass(frozen=True)
class OngoingAlert:
    """An alert staff can still see change: its topic and when it last grew."""

    alert_id: int
    topic_id: int
    last_signal_at: datetime


@dataclass
class Plan:
    """What to do with this run's signals: raise new alerts, update ongoing ones, close those
    that went quiet."""

    raise_new: list[Signal] = field(default_factory=list)
    update: list[tuple[OngoingAlert, Signal]] = field(default_factory=list)
    close: list[OngoingAlert] = field(default_factory=list)


def plan_alerts(
    signals: list[Signal],
    ongoing: dict[int, OngoingAlert],
    *,
    now: datetime,
    quiet: timedelta,
    suppressed: Callable[[int], bool],
    same_issue: Callable[[int, int], bool] = lambda _a, _b: False,
) -> Plan:
    """An ongoing issue updates its alert instead of raising a new one (also when the growth
    is in a topic `same_issue` says is close to the alerted one); a topic staff dismissed
    (or one like it, as `suppressed` decides) raises nothing; an alert with no growth for
    `quiet` is closed, so a later return of the topic is news again."""
    plan = Plan()
    for signal in signals:
        alert = ongoing.get(signal.topic_id) or next(
            (a for a in ongoing.values() if same_issue(signal.topic_id, a.topic_id)), None
        )
        if alert is not None:
            plan.update.append((alert, signal))
        elif not suppressed(signal.topic_id):
            plan.raise_new.append(signal)
    grown = {alert.topic_id for alert, _ in plan.update}
    plan.close = [
        alert for alert in ongoing.values()
        if alert.topic_id not in grown and now - alert.last_signal_at >= quiet
    ]
    return plan
