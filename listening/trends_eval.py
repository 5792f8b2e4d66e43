"""`townhall eval emerging`: replay a timestamped stream in simulated time and score the alerts.

The replay does what the scheduled job does, at the same cadence: every `interval` of simulated
time the messages that arrived since the last run are placed in topics (`TopicSpace`), the
detector looks for growing topics, and `plan_alerts` raises, updates or closes alerts. Volumes
come from memory instead of the database; the rules are the same objects the job uses.

Scoring (the issue's definition): an alert matches an incident when its topic, at alert time,
holds mostly (more than half) that incident's messages. An incident is detected when a
matching alert comes within 6 hours of its 10th message; its delay runs from that 10th message
(an earlier alert counts as 0). Alerts matching no incident are false alerts.
"""

from __future__ import annotations

import bisect
import json
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from listening.topics import TopicSpace
from listening.trends import Detector, OngoingAlert, Rules, WindowVolume, plan_alerts

DETECTION_HORIZON = timedelta(hours=6)
NTH_MESSAGE = 10


@dataclass(frozen=True)
class StreamItem:
    text: str
    at: datetime
    event: str


def read_stream(path: Path) -> list[StreamItem]:
    """Lines `{"text", "timestamp", "event"}`, returned in time order."""
    items = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                at = datetime.fromisoformat(str(row["timestamp"]).replace("Z", "+00:00"))
                items.append(StreamItem(str(row["text"]), at, str(row.get("event") or "")))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a stream line ({exc})") from exc
    items.sort(key=lambda item: item.at)
    return items


class MemoryVolumes:
    """The `Volumes` protocol over placements kept in memory (each message its own citizen,
    as in a stream without authors)."""

    def __init__(self) -> None:
        self._times: list[datetime] = []
        self._topics: list[int] = []
        self._by_topic: dict[int, list[datetime]] = defaultdict(list)

    def add(self, topic_ids: Iterable[int], times: Iterable[datetime]) -> None:
        for topic_id, at in zip(topic_ids, times, strict=True):
            self._times.append(at)
            self._topics.append(int(topic_id))
            self._by_topic[int(topic_id)].append(at)

    def window(self, start: datetime, end: datetime) -> dict[int, WindowVolume]:
        low, high = bisect.bisect_left(self._times, start), bisect.bisect_left(self._times, end)
        counts = Counter(self._topics[low:high])
        return {topic_id: WindowVolume(n, n) for topic_id, n in counts.items()}

    def baseline(self, topic_ids: Iterable[int], start: datetime, end: datetime) -> dict[int, int]:
        found = {}
        for topic_id in topic_ids:
            times = self._by_topic.get(topic_id, [])
            found[topic_id] = bisect.bisect_left(times, end) - bisect.bisect_left(times, start)
        return found

    def total(self, start: datetime, end: datetime) -> int:
        return bisect.bisect_left(self._times, end) - bisect.bisect_left(self._times, start)

    def members(self, topic_id: int, end: datetime) -> int:
        return bisect.bisect_left(self._by_topic.get(topic_id, []), end)


@dataclass(frozen=True)
class RaisedAlert:
    topic_id: int
    at: datetime
    event: str | None  # the incident it matches, if any


def replay(
    items: list[StreamItem],
    vectors: np.ndarray,
    *,
    rules: Rules,
    threshold: float,
    interval: timedelta = timedelta(minutes=5),
    progress: Callable[[int], None] | None = None,
) -> list[RaisedAlert]:
    """Run the job every `interval` of simulated time over the stream; the alerts it raised."""
    if not items:
        return []
    space = TopicSpace(
        vectors.shape[1], threshold=threshold, forget_after=rules.forget_singletons
    )
    volumes = MemoryVolumes()
    detector = Detector(rules)
    by_topic_events: dict[int, Counter[str]] = defaultdict(Counter)
    ongoing: dict[int, OngoingAlert] = {}
    raised: list[RaisedAlert] = []
    arrival = [item.at for item in items]
    start = arrival[0]
    now, i = start + interval, 0
    while i < len(items):
        j = bisect.bisect_left(arrival, now, lo=i)
        if j > i:
            times = arrival[i:j]
            placement = space.place(vectors[i:j], times)
            volumes.add(placement.topics, times)
            for topic_id, item in zip(placement.topics, items[i:j], strict=True):
                by_topic_events[int(topic_id)][item.event] += 1
            if progress:
                progress(j - i)
        space.forget(now)
        signals = detector.signals(volumes, now, since=start)
        plan = plan_alerts(
            signals, ongoing, now=now, quiet=rules.quiet, suppressed=lambda _: False,
            same_issue=lambda a, b: space.similarity(a, b) >= rules.same_issue_similarity,
        )
        for alert, signal in plan.update:
            ongoing[alert.topic_id] = OngoingAlert(alert.alert_id, alert.topic_id, signal.at)
        for alert in plan.close:
            del ongoing[alert.topic_id]
        for signal in plan.raise_new:
            ongoing[signal.topic_id] = OngoingAlert(len(raised), signal.topic_id, signal.at)
            event = _majority(by_topic_events[signal.topic_id])
            raised.append(RaisedAlert(signal.topic_id, now, event))
        i, now = j, now + interval
    return raised


def _majority(events: Counter[str]) -> str | None:
    """The incident holding more than half the topic's messages, if any."""
    total = sum(events.values())
    event, count = events.most_common(1)[0]
    return event if event and count * 2 > total else None


def score(items: list[StreamItem], alerts: list[RaisedAlert], wall_s: float) -> dict[str, object]:
    """The issue's figures for a replay's alerts."""
    arrivals: dict[str, list[datetime]] = defaultdict(list)
    for item in items:
        if item.event:
            arrivals[item.event].append(item.at)
    delays = []
    for event, times in arrivals.items():
        if len(times) < NTH_MESSAGE:
            continue
        tenth = times[NTH_MESSAGE - 1]
        firsts = [a.at for a in alerts if a.event == event and a.at <= tenth + DETECTION_HORIZON]
        if firsts:
            delays.append(max((min(firsts) - tenth).total_seconds() / 60, 0.0))
    days = (items[-1].at - items[0].at).total_seconds() / 86400 if items else 0.0
    false_alerts = sum(1 for a in alerts if a.event is None)
    return {
        "events": len(arrivals),
        "detected": len(delays),
        "median_delay_minutes": round(statistics.median(delays), 1) if delays else None,
        "false_alerts_per_day": round(false_alerts / days, 3) if days else float(false_alerts),
        "precision": round((len(alerts) - false_alerts) / len(alerts), 4) if alerts else None,
        "alerts": len(alerts),
        "wall_s": round(wall_s, 1),
    }


def evaluate(
    items: list[StreamItem], encode: Callable[[list[str]], np.ndarray], *,
    rules: Rules, threshold: float, interval: timedelta,
    progress: Callable[[int], None] | None = None,
) -> dict[str, object]:
    started = time.perf_counter()
    vectors = encode([item.text for item in items])
    alerts = replay(items, vectors, rules=rules, threshold=threshold, interval=interval,
                    progress=progress)
    return score(items, alerts, time.perf_counter() - started)
