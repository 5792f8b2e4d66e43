from datetime import UTC, datetime, timedelta

from listening.trends import Detector, OngoingAlert, Rules, Signal, plan_alerts
from listening.trends_eval import MemoryVolumes

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
RULES = Rules(window=timedelta(hours=1), baseline=timedelta(days=7))


def steady_background(volumes: MemoryVolumes, days: int, topic: int = 1) -> None:
    """20 messages an hour by day, 4 by night; topic 1 is 10% of them, the rest singletons."""
    next_single = 1000
    for hour in range(days * 24):
        count = 20 if 7 <= hour % 24 < 22 else 4
        for k in range(count):
            at = T0 + timedelta(hours=hour, minutes=k * 60 / count)
            if k % 10 == 0:
                volumes.add([topic], [at])
            else:
                volumes.add([next_single], [at])
                next_single += 1


def test_a_new_topic_that_bursts_is_raised_and_a_steady_one_is_not():
    volumes = MemoryVolumes()
    steady_background(volumes, days=3)
    now = T0 + timedelta(days=3)
    burst = [now - timedelta(minutes=40 - k) for k in range(12)]
    volumes.add([7] * 12, burst)
    signals = Detector(RULES).signals(volumes, now, since=T0)
    assert [s.topic_id for s in signals] == [7]
    assert signals[0].messages == 12 and signals[0].growth >= RULES.min_growth


def test_too_few_messages_or_citizens_raise_nothing():
    volumes = MemoryVolumes()
    steady_background(volumes, days=2)
    now = T0 + timedelta(days=2)
    volumes.add([7] * 4, [now - timedelta(minutes=10)] * 4)  # below min_messages
    assert Detector(RULES).signals(volumes, now, since=T0) == []


def test_a_topic_at_its_usual_share_is_quiet_at_the_busiest_hour():
    """The daily rhythm: topic 1 keeps its 10% share at 9 am as at 3 am, so nothing is raised."""
    volumes = MemoryVolumes()
    steady_background(volumes, days=8)
    for hour in (3, 9, 15):
        now = T0 + timedelta(days=7, hours=hour)
        assert Detector(RULES).signals(volumes, now, since=T0) == []


def test_growth_of_a_known_topic_is_measured_against_its_own_baseline():
    volumes = MemoryVolumes()
    steady_background(volumes, days=7)
    now = T0 + timedelta(days=7, hours=12)
    volumes.add([1] * 30, [now - timedelta(minutes=30)] * 30)
    [signal] = Detector(RULES).signals(volumes, now, since=T0)
    assert signal.topic_id == 1
    assert 1.5 < signal.expected < 3.5  # about 10% of the ~20 messages of the hour
    assert signal.growth > 8


def signal(topic: int, at: datetime) -> Signal:
    return Signal(topic, at, 10, 10, 1.0, 10.0, 1e-9)


def test_an_ongoing_issue_updates_its_alert_and_a_quiet_one_closes():
    now = T0 + timedelta(days=1)
    ongoing = {
        5: OngoingAlert(1, 5, now - timedelta(minutes=5)),
        6: OngoingAlert(2, 6, now - timedelta(hours=7)),
    }
    plan = plan_alerts(
        [signal(5, now), signal(9, now)], ongoing, now=now, quiet=timedelta(hours=6),
        suppressed=lambda _: False,
    )
    assert [(a.alert_id, s.topic_id) for a, s in plan.update] == [(1, 5)]
    assert [s.topic_id for s in plan.raise_new] == [9]
    assert [a.alert_id for a in plan.close] == [2]


def test_a_topic_like_the_alerted_one_updates_it_and_a_dismissed_one_is_silent():
    now = T0 + timedelta(days=1)
    ongoing = {5: OngoingAlert(1, 5, now - timedelta(minutes=5))}
    plan = plan_alerts(
        [signal(8, now), signal(9, now)], ongoing, now=now, quiet=timedelta(hours=6),
        suppressed=lambda topic: topic == 9, same_issue=lambda a, b: {a, b} == {8, 5},
    )
    assert [(a.alert_id, s.topic_id) for a, s in plan.update] == [(1, 8)]
    assert plan.raise_new == [] and plan.close == []
