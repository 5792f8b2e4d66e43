import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from listening.trends import Rules
from listening.trends_eval import RaisedAlert, StreamItem, read_stream, replay, score

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def items_for(event: str, start: datetime, n: int, every: timedelta) -> list[StreamItem]:
    return [StreamItem(f"{event} {k}", start + k * every, event) for k in range(n)]


def test_score_counts_detection_delay_from_the_tenth_message_and_false_alerts():
    a = items_for("a", T0 + timedelta(hours=1), 20, timedelta(minutes=6))  # 10th at 1h54
    b = items_for("b", T0 + timedelta(days=1), 20, timedelta(minutes=1))
    background = [StreamItem("x", T0 + timedelta(days=2), "")]
    items = sorted(a + b + background, key=lambda i: i.at)
    tenth_a = a[9].at
    alerts = [
        RaisedAlert(1, tenth_a + timedelta(minutes=20), "a"),
        RaisedAlert(2, tenth_a + timedelta(minutes=50), "a"),  # a second alert: same incident
        RaisedAlert(3, b[9].at + timedelta(hours=7), "b"),  # too late to count
        RaisedAlert(4, T0 + timedelta(days=1, hours=5), None),  # matches nothing
    ]
    figures = score(items, alerts, wall_s=1.0)
    assert figures["events"] == 2
    assert figures["detected"] == 1
    assert figures["median_delay_minutes"] == 20.0
    assert figures["precision"] == 0.75
    days = (items[-1].at - items[0].at).total_seconds() / 86400
    assert figures["false_alerts_per_day"] == round(1 / days, 3)


def test_an_alert_before_the_tenth_message_counts_as_no_delay():
    a = items_for("a", T0, 12, timedelta(minutes=10))
    figures = score(a, [RaisedAlert(1, a[5].at, "a")], wall_s=0.0)
    assert figures["detected"] == 1 and figures["median_delay_minutes"] == 0.0


def test_replay_raises_one_alert_for_a_burst_over_varied_background():
    rng = np.random.default_rng(0)
    background = [
        StreamItem(f"post {k}", T0 + timedelta(minutes=3 * k), "") for k in range(24 * 20 * 2)
    ]
    burst_start = T0 + timedelta(days=1, hours=12)
    burst = items_for("flood", burst_start, 30, timedelta(minutes=2))
    items = sorted(background + burst, key=lambda i: i.at)
    center = rng.standard_normal(32)
    vectors = []
    for item in items:
        noise = rng.standard_normal(32)
        vector = center + 0.3 * noise / np.linalg.norm(noise) if item.event else noise
        vectors.append(vector / np.linalg.norm(vector))
    alerts = replay(items, np.array(vectors, dtype=np.float32), rules=Rules(), threshold=0.6)
    assert [a.event for a in alerts] == ["flood"]
    assert burst_start <= alerts[0].at <= burst_start + timedelta(minutes=30)


def test_read_stream_sorts_by_time_and_names_the_bad_line(tmp_path: Path):
    path = tmp_path / "stream.jsonl"
    path.write_text(
        json.dumps({"text": "b", "timestamp": "2026-01-05T01:00:00Z", "event": ""}) + "\n"
        + json.dumps({"text": "a", "timestamp": "2026-01-05T00:00:00Z", "event": "e"}) + "\n"
    )
    assert [i.text for i in read_stream(path)] == ["a", "b"]
    path.write_text('{"text": "no time"}\n')
    with pytest.raises(ValueError, match=r"stream\.jsonl:1"):
        read_stream(path)
