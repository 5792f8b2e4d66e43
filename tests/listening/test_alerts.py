"""The trends job on a real database: placing, raising, updating, dismissing, restarting."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import text
from sqlmodel import func, select

from listening.alerts import TrendsJob, decide
from listening.models import Citizen, Conversation, Message, OutboxItem
from listening.trend_tables import Alert, MessageVector, Topic, TopicMember, pack_vector
from listening.trends import Rules

T0 = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)
DIM = 32
RULES = Rules(window=timedelta(hours=1), baseline=timedelta(days=7), min_history=timedelta(0))


@pytest.fixture
def job_db(db):
    db.ensure_schema()
    return db


class Stream:
    """Writes messages with embeddings as ingest would, one citizen each by default."""

    def __init__(self, db):
        self.db = db
        self.rng = np.random.default_rng(11)
        self.count = 0

    def near(self, center: np.ndarray) -> np.ndarray:
        noise = self.rng.standard_normal(DIM)
        vector = center + 0.3 * noise / np.linalg.norm(noise)
        return vector / np.linalg.norm(vector)

    def random(self) -> np.ndarray:
        vector = self.rng.standard_normal(DIM)
        return vector / np.linalg.norm(vector)

    def add(self, texts: list[str], vectors: list[np.ndarray], times: list[datetime],
            channel: str = "telegram", category: str = "roads") -> None:
        with self.db.session() as session:
            for text, vector, at in zip(texts, vectors, times, strict=True):
                self.count += 1
                citizen = Citizen(channel=channel, pseudonym=f"citizen-{self.count}")
                session.add(citizen)
                session.flush()
                conversation = Conversation(
                    citizen_id=citizen.id, channel=channel, chat_key=str(self.count),
                    address={"channel": channel, "chat_id": str(self.count)},
                )
                session.add(conversation)
                session.flush()
                message = Message(
                    channel=channel, external_id=str(self.count), citizen_id=citizen.id,
                    conversation_id=conversation.id, text=text, event={}, sent_at=at,
                    received_at=at, handled_at=at, category=category, sentiment="negative",
                )
                session.add(message)
                session.flush()
                session.add(MessageVector(message_id=message.id, vector=pack_vector(vector)))

    def background(self, start: datetime, hours: int, per_hour: int = 6) -> None:
        times = [start + timedelta(minutes=60 * k / per_hour) for k in range(hours * per_hour)]
        self.add([f"about something else {k}" for k in range(len(times))],
                 [self.random() for _ in times], times, category="other")


def burst(stream: Stream, center: np.ndarray, start: datetime, n: int, word: str) -> None:
    times = [start + timedelta(minutes=2 * k) for k in range(n)]
    texts = [f"{word} on Elm Street again call 555-123-4567 ({k})" for k in range(n)]
    stream.add(texts, [stream.near(center) for _ in times], times)


def count(db, model) -> int:
    return db.transact(lambda s: s.exec(select(func.count()).select_from(model)).one())


def alerts(db) -> list[Alert]:
    return db.transact(lambda s: list(s.exec(select(Alert).order_by(Alert.id)).all()))


async def test_a_burst_raises_one_alert_that_updates_and_then_closes(job_db):
    stream = Stream(job_db)
    stream.background(T0, hours=30)
    job = TrendsJob(job_db, rules=RULES, threshold=0.6, dimension=DIM)
    report = await job.run(now=T0 + timedelta(hours=30))
    assert report.raised == [] and report.placed == 180
    assert count(job_db, MessageVector) == 0 and count(job_db, TopicMember) == 180

    center = stream.random()
    start = T0 + timedelta(hours=30)
    burst(stream, center, start, 8, "Flooding")
    first = await job.run(now=start + timedelta(minutes=20))
    [alert] = alerts(job_db)
    assert first.raised == [alert.id]
    assert alert.status == "open" and alert.messages == 8 and alert.citizens == 8
    assert "flooding" in alert.label and "elm" in alert.label
    assert alert.channels == {"telegram": 8} and alert.category == "roads"
    assert len(alert.examples) == 3 and all("[phone]" in e for e in alert.examples)
    assert "555" not in " ".join(alert.examples)

    burst(stream, center, start + timedelta(minutes=20), 6, "Flooding")
    second = await job.run(now=start + timedelta(minutes=35))
    assert second.raised == [] and second.updated == [alert.id]
    assert [a.messages for a in alerts(job_db)] == [14]
    queued = job_db.transact(
        lambda s: s.exec(select(OutboxItem.key).where(OutboxItem.kind == "alert")).all()
    )
    assert len(queued) == 2

    quiet = await job.run(now=start + timedelta(hours=8))
    assert quiet.closed == [alert.id]
    assert alerts(job_db)[0].status == "closed"


async def raised(db, word: str) -> tuple[Stream, TrendsJob, np.ndarray, datetime, Alert]:
    """A day and a bit of background, then a burst of eight about `word`: one alert."""
    stream = Stream(db)
    stream.background(T0, hours=30)
    job = TrendsJob(db, rules=RULES, threshold=0.6, dimension=DIM)
    center = stream.random()
    start = T0 + timedelta(hours=30)
    burst(stream, center, start, 8, word)
    await job.run(now=start + timedelta(minutes=20))
    [alert] = alerts(db)
    return stream, job, center, start, alert


async def test_not_an_issue_silences_the_pattern_and_a_restart_keeps_topic_ids(job_db):
    stream, _, center, start, alert = await raised(job_db, "Market")
    job_db.transact(decide, alert.id, "dismiss", "U_STAFF")
    topic = job_db.transact(lambda s: s.get(Topic, alert.topic_id))
    assert topic.status == "dismissed"

    # the next day, after a restart, the same pattern again: placed in the same topic, silent
    restarted = TrendsJob(job_db, rules=RULES, threshold=0.6, dimension=DIM)
    stream.background(start + timedelta(hours=1), hours=20)
    again = start + timedelta(hours=21)
    burst(stream, center, again, 10, "Market")
    report = await restarted.run(now=again + timedelta(minutes=25))
    assert report.raised == []
    members = job_db.transact(
        lambda s: s.exec(select(TopicMember.topic_id).where(TopicMember.at >= again)).all()
    )
    assert set(members) == {alert.topic_id}
    assert len(alerts(job_db)) == 1


async def test_track_as_incident_keeps_the_alert_ongoing(job_db):
    stream, job, center, start, alert = await raised(job_db, "Outage")
    job_db.transact(decide, alert.id, "track", "U_STAFF")
    burst(stream, center, start + timedelta(minutes=20), 8, "Outage")
    report = await job.run(now=start + timedelta(minutes=40))
    assert report.updated == [alert.id]
    [tracked] = alerts(job_db)
    assert tracked.status == "tracking" and tracked.decided_by == "U_STAFF"
    with pytest.raises(LookupError):
        job_db.transact(decide, 999, "track", "U_STAFF")


@pytest.mark.postgres
async def test_one_replica_at_a_time_on_postgresql(job_db):
    from listening.trends_store import JOB_LOCK

    if not job_db.url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's")
    stream = Stream(job_db)
    stream.background(T0, hours=2)
    job = TrendsJob(job_db, rules=RULES, threshold=0.6, dimension=DIM)
    with job_db.session() as other:  # another replica, mid-run, holds the lock
        other.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": JOB_LOCK})
        skipped = await job.run(now=T0 + timedelta(hours=2))
        assert skipped.placed == 0
    report = await job.run(now=T0 + timedelta(hours=2))
    assert report.placed == 12
