"""The emerging-issue job and its alerts: place new messages, find growing topics, tell staff.

`TrendsJob.run` is what the scheduler calls every few minutes. One run is one transaction:
it places the messages whose vectors are waiting, asks the detector for growing topics, raises,
updates or closes alerts, and queues their Slack deliveries in the outbox. A run that dies
leaves everything as it was, vectors included, and the next run does the work.

Staff answer an alert with "Track as incident" or "Not an issue". The second marks the topic as
dismissed; the job then stays silent about it and about any topic close to it, so the same
pattern (a weekly market, a football match) is not raised again.

One replica at a time: the job keeps the live topics in memory and notices, from the newest
topic id, when another replica has run since; it then reloads them from the database.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlmodel import Session, col, select

from listening.key_terms import label
from listening.models import Message
from listening.outbox import Outbox, enqueue
from listening.topics import TopicSpace
from listening.trend_tables import Alert, Topic, TopicMember
from listening.trends import Detector, OngoingAlert, Rules, Signal, plan_alerts, similar_to_any
from listening.trends_store import (
    SqlVolumes,
    load_space,
    newest_topic_id,
    pending_vectors,
    prune,
    retention,
    save_placement,
    try_job_lock,
)
from townhall.db import Database
from townhall.domain import utcnow
from townhall.redact import redact

log = logging.getLogger(__name__)

ONGOING = ("open", "tracking")
EXAMPLES = 3
BACKGROUND_SAMPLE = 2000


@dataclass(frozen=True)
class RunReport:
    placed: int
    topics: int
    signals: int
    raised: list[int]
    updated: list[int]
    closed: list[int]


class TrendsJob:
    def __init__(
        self,
        db: Database,
        outbox: Outbox | None = None,
        *,
        rules: Rules | None = None,
        threshold: float = 0.6,
        dimension: int = 384,
        batch_limit: int = 200_000,
    ):
        self.db = db
        self.outbox = outbox
        self.rules = rules or Rules()
        self.detector = Detector(self.rules)
        self.space = TopicSpace(
            dimension, threshold=threshold, forget_after=self.rules.forget_singletons,
            retire_after=retention(self.rules.baseline),
        )
        self.batch_limit = batch_limit
        self._newest_seen: int | None = None

    async def run(self, now: datetime | None = None) -> RunReport:
        report = await self.db.run(self._run, now or utcnow())
        if report.raised or report.updated or report.closed:
            log.info(
                "trends: %d placed, alerts raised %s updated %s closed %s",
                report.placed, report.raised, report.updated, report.closed,
            )
            if self.outbox is not None:
                self.outbox.wake()
        return report

    def _run(self, session: Session, now: datetime) -> RunReport:
        if not try_job_lock(session):
            log.info("trends: another replica is running the job; skipped")
            return RunReport(0, len(self.space), 0, [], [], [])
        if self._newest_seen is None or newest_topic_id(session) != self._newest_seen:
            load_space(session, self.space, now)  # first run, or another replica ran
        pending = pending_vectors(session, self.space.dimension, self.batch_limit)
        if pending.message_ids:
            placement = self.space.place(pending.vectors, pending.times)
            save_placement(session, self.space, pending, placement)
        self.space.forget(now)
        volumes = SqlVolumes(session)
        since = volumes.first_at() or now
        signals = self.detector.signals(volumes, now, since)
        raised, updated, closed = self._apply(session, signals, now)
        prune(session, now - retention(self.rules.baseline))
        session.flush()
        self._newest_seen = newest_topic_id(session)
        return RunReport(
            len(pending.message_ids), len(self.space), len(signals), raised, updated, closed
        )

    def _apply(
        self, session: Session, signals: list[Signal], now: datetime
    ) -> tuple[list[int], list[int], list[int]]:
        alerts = {
            a.topic_id: a
            for a in session.exec(select(Alert).where(col(Alert.status).in_(ONGOING))).all()
        }
        ongoing = {
            topic_id: OngoingAlert(int(a.id or 0), topic_id, a.updated_at)
            for topic_id, a in alerts.items()
        }
        dismissed = session.exec(
            select(Topic.id, Topic.centroid).where(Topic.status == "dismissed")
        ).all()
        dismissed_ids = {int(t) for t, _ in dismissed}
        patterns = [np.frombuffer(c, dtype=np.float32) for _, c in dismissed if c]

        def suppressed(topic_id: int) -> bool:
            return topic_id in dismissed_ids or similar_to_any(
                self.space.centroid(topic_id), patterns, self.rules.dismissed_similarity
            )

        def same_issue(a: int, b: int) -> bool:
            return self.space.similarity(a, b) >= self.rules.same_issue_similarity

        plan = plan_alerts(
            signals, ongoing, now=now, quiet=self.rules.quiet, suppressed=suppressed,
            same_issue=same_issue,
        )
        raised, updated, closed = [], [], []
        for signal in plan.raise_new:
            alert = Alert(topic_id=signal.topic_id, first_alert_at=now, updated_at=now)
            self._describe(session, alert, signal)
            session.add(alert)
            session.flush()
            raised.append(int(alert.id or 0))
        for ongoing_alert, signal in plan.update:
            alert = alerts[ongoing_alert.topic_id]
            if signal.messages > alert.messages or signal.citizens > alert.citizens:
                self._describe(session, alert, signal, topic_id=signal.topic_id)
                alert.updated_at = now
                session.add(alert)
                updated.append(int(alert.id or 0))
        for ongoing_alert in plan.close:
            alert = alerts[ongoing_alert.topic_id]
            alert.status, alert.updated_at = "closed", now
            session.add(alert)
            closed.append(int(alert.id or 0))
        for alert_id in (*raised, *updated, *closed):
            queue_alert(session, alert_id, now)
        return raised, updated, closed

    def _describe(
        self, session: Session, alert: Alert, signal: Signal, topic_id: int | None = None
    ) -> None:
        """Fill in what staff read: label, figures, channels, category, sentiment, examples."""
        start = signal.at - self.rules.window
        rows = session.exec(
            select(Message.text, Message.channel, Message.category, Message.sentiment)
            .join(TopicMember, col(TopicMember.message_id) == Message.id)
            .where(
                TopicMember.topic_id == (topic_id or signal.topic_id),
                TopicMember.at >= start, TopicMember.at < signal.at,
            )
            .order_by(col(TopicMember.similarity).desc())
        ).all()
        background = session.exec(
            select(Message.text)
            .join(TopicMember, col(TopicMember.message_id) == Message.id)
            .where(TopicMember.at >= start - timedelta(hours=23), TopicMember.at < signal.at)
            .order_by(col(TopicMember.at).desc())
            .limit(BACKGROUND_SAMPLE)
        ).all()
        texts = [redact(r[0]) for r in rows]
        alert.label = label(texts, [redact(text) for text in background])[:200]
        alert.messages, alert.citizens = signal.messages, signal.citizens
        alert.growth = signal.growth
        alert.channels = dict(Counter(r[1] for r in rows))
        alert.category = _most_common([r[2] for r in rows])
        alert.sentiment = _most_common([r[3] for r in rows])
        alert.examples = _examples(texts)


def _most_common(values: list[str | None]) -> str | None:
    counts = Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else None


def _examples(texts: list[str]) -> list[str]:
    """The messages closest to the topic's centre (already redacted), distinct, shortened."""
    chosen: list[str] = []
    for text in texts:
        short = text[:280]
        if short and short.lower() not in (c.lower() for c in chosen):
            chosen.append(short)
        if len(chosen) == EXAMPLES:
            break
    return chosen


def queue_alert(session: Session, alert_id: int, now: datetime) -> None:
    """Queue the alert's Slack post (or update): rendered at delivery time from the row."""
    enqueue(
        session, key=f"alert:{alert_id}:{now.isoformat()}", kind="alert",
        stream=f"console:alert:{alert_id}", payload={"alert_id": alert_id},
    )


def decide(session: Session, alert_id: int, decision: str, staff_id: str) -> Alert:
    """Staff's answer to an alert: "track" or "dismiss" (which silences the topic's pattern)."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise LookupError(f"There is no alert {alert_id}.")
    if decision not in ("track", "dismiss"):
        raise ValueError(f"unknown decision {decision!r}")
    now = utcnow()
    alert.status = "tracking" if decision == "track" else "dismissed"
    alert.decided_by, alert.decided_at, alert.updated_at = staff_id, now, now
    session.add(alert)
    if decision == "dismiss":
        topic = session.get(Topic, alert.topic_id)
        if topic is not None:
            topic.status = "dismissed"
            session.add(topic)
    queue_alert(session, alert_id, now)
    return alert

