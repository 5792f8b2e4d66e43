"""The weekly digest as the scheduler runs it, and its Slack summary."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bots.slack.digest_blocks import summary_blocks
from listening.digest_job import make_weekly_digest
from townhall.db import Database
from townhall.settings import Settings
from townhall.testing.digest_data import DigestRows
from townhall.testing.digest_scenario import fill_two_weeks
from townhall.testing.fake_slack_validate import block_errors


def _settings(tmp_path: Path) -> Settings:
    return Settings.load(digest={"timezone": "Europe/Paris", "out_dir": tmp_path / "digests",
                                 "first_response_target_hours": 4})


async def test_the_last_complete_week_by_default(db: Database, tmp_path: Path) -> None:
    fill_two_weeks(DigestRows(db))
    monday_morning = datetime(2026, 11, 30, 7, tzinfo=UTC)  # 08:00 in Paris
    result = await make_weekly_digest(db, _settings(tmp_path), now=monday_morning)
    summary = result.summary
    assert summary.week == "2026-W48" and summary.period == "23 to 29 November 2026"
    assert (summary.messages, summary.citizen_messages, summary.public_posts) == (11, 9, 2)
    assert (summary.cases_opened, summary.cases_resolved, summary.cases_open) == (4, 2, 3)
    assert summary.median_first_response_h == pytest.approx(6.0)
    assert summary.first_response_compliance == pytest.approx(1 / 3)
    assert [(t.name, t.messages) for t in summary.top_issues][:2] == [
        ("Waste and recycling", 4), ("Roads and potholes", 4)]  # names from categories.yaml
    assert summary.emerging == ("Flooding on River Road", "Bus 12 not running")
    assert not summary.empty
    assert [p.name for p in result.paths[:2]] == ["digest-2026-W48.html", "digest-2026-W48.md"]
    assert all(p.exists() and p.parent == tmp_path / "digests" for p in result.paths)
    assert len(result.paths) == 6


async def test_a_given_week_and_a_bad_one(db: Database, tmp_path: Path) -> None:
    result = await make_weekly_digest(db, _settings(tmp_path), week="2026-W40")
    assert result.summary.empty and result.summary.week == "2026-W40"
    with pytest.raises(ValueError, match="YYYY-Www"):
        await make_weekly_digest(db, _settings(tmp_path), week="last week")


async def test_slack_summary_is_valid_block_kit(db: Database, tmp_path: Path) -> None:
    rows = DigestRows(db)
    fill_two_weeks(rows)
    rows.alert(datetime(2026, 11, 24, 9, tzinfo=UTC), "<!channel> look & see", messages=1)
    result = await make_weekly_digest(db, _settings(tmp_path), week="2026-W48")
    blocks = summary_blocks(result.summary)
    assert block_errors(blocks) == []
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == "Weekly digest: 23 to 29 November 2026"
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert fields[0] == "*Messages*\n11 (+38% vs previous week)"
    assert fields[2] == "*Cases opened / resolved*\n4 / 2 (3 open)"
    assert fields[3] == "*Median first response*\n6.0 h (33% on time)"
    text = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b)
    assert "1. Waste and recycling: 4 (+0%)" in text and "3. Noise: 1 (new)" in text
    assert "&lt;!channel&gt; look &amp; see" in text and "<!channel>" not in text
    assert "not a representative sample" in blocks[-1]["elements"][0]["text"]

    empty = await make_weekly_digest(db, _settings(tmp_path), week="2026-W40")
    empty_blocks = summary_blocks(empty.summary)
    assert block_errors(empty_blocks) == []
    assert "Nothing was received" in empty_blocks[1]["text"]["text"]
