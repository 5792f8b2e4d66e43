"""`townhall eval emerging` and `townhall bench emerging` print one JSON object each."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from townhall.cli import app

T0 = datetime(2026, 1, 5, tzinfo=UTC)
TOPICS = [
    "the new cafe downtown has great coffee", "traffic was slow on the highway today",
    "my cat knocked over a plant again", "the library book sale starts next week",
    "watched the football match last night", "thinking about painting the kitchen",
    "the farmers market had fresh strawberries", "my phone battery dies too fast",
    "the concert in the park was lovely", "school starts again on monday",
]
INCIDENT = [
    "Water main break on Elm Street, the road is flooded",
    "The water main on Elm Street burst and the street is flooding",
    "Elm Street is flooded, a water main broke this morning",
    "Big water main break at Elm Street, water everywhere on the road",
    "water main burst on elm street, road flooded",
    "Is anyone fixing the water main break on Elm Street? It is flooding",
    "Elm street water main broke, flooding the road near the school",
    "Flooding on Elm Street from a broken water main",
    "Elm Street flooding after the water main break",
    "The Elm Street water main break has flooded the road",
    "Still flooding on Elm Street, water main not fixed",
    "Avoid Elm Street: water main break and flooding",
]


def _stream(path: Path) -> None:
    lines = []
    for k in range(48 * 6):  # two days, a post every ten minutes
        text = f"{TOPICS[k % len(TOPICS)]} ({k})"
        lines.append({"text": text, "timestamp": (T0 + timedelta(minutes=10 * k)).isoformat(),
                      "event": ""})
    start = T0 + timedelta(days=1, hours=10)
    for k, text in enumerate(INCIDENT):
        lines.append({"text": text, "timestamp": (start + timedelta(minutes=3 * k)).isoformat(),
                      "event": "elm_water_main"})
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")


def test_eval_emerging_prints_the_figures(tmp_path: Path, models) -> None:
    stream = tmp_path / "stream.jsonl"
    _stream(stream)
    result = CliRunner().invoke(app, ["eval", "emerging", "--data", str(stream)])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(figures) >= {"events", "detected", "median_delay_minutes",
                            "false_alerts_per_day", "precision", "wall_s"}
    assert figures["events"] == 1 and figures["detected"] == 1
    assert figures["false_alerts_per_day"] == 0 and figures["precision"] == 1.0


def test_eval_emerging_names_a_bad_line(tmp_path: Path) -> None:
    stream = tmp_path / "stream.jsonl"
    stream.write_text('{"text": "no timestamp"}\n')
    result = CliRunner().invoke(
        app, ["eval", "emerging", "--data", str(stream)], env={"COLUMNS": "300"}
    )
    assert result.exit_code != 0
    assert "stream.jsonl:1" in result.output


def test_bench_emerging_places_every_message_and_finds_the_bursts(
    database_url: str, tmp_path: Path
) -> None:
    """On PostgreSQL the bench makes (and drops) its own database on the server; on SQLite it
    fills a new file."""
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'bench.db'}"
    result = CliRunner().invoke(
        app, ["bench", "emerging", "--messages", "10000", "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["placed"] == 10000 and figures["next_run_placed"] == 350
    assert figures["alerts"] == 3
    assert figures["job_s"] > 0 and figures["rss_mb"] > 0
