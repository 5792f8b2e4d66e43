"""`townhall digest` and `townhall bench digest` against a real database, configured through
TOWNHALL_* variables as in production."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from townhall.cli import app
from townhall.db import Database
from townhall.testing.digest_data import DigestRows
from townhall.testing.digest_scenario import fill_two_weeks


@pytest.fixture
def runner(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", database_url)
    monkeypatch.setenv("TOWNHALL_DIGEST__TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("TOWNHALL_DIGEST__OUT_DIR", str(tmp_path / "digests"))
    return CliRunner()


def test_digest_of_a_week(runner: CliRunner, db: Database, tmp_path: Path) -> None:
    fill_two_weeks(DigestRows(db))
    result = runner.invoke(app, ["digest", "--week", "2026-W48"])
    assert result.exit_code == 0, result.output
    html = tmp_path / "digests" / "digest-2026-W48.html"
    assert "11 messages, 4 cases opened, 2 resolved" in result.stderr
    assert str(html) in result.stderr
    assert html.exists() and (tmp_path / "digests" / "digest-2026-W48.md").exists()
    assert len(list((tmp_path / "digests").glob("digest-2026-W48-*.png"))) == 4

    out = tmp_path / "elsewhere"
    empty = runner.invoke(app, ["digest", "--week", "2026-W40", "--out", str(out)])
    assert empty.exit_code == 0, empty.output
    assert "nothing was received" in empty.stderr
    assert (out / "digest-2026-W40.html").exists()


def test_digest_refuses_a_bad_week(runner: CliRunner) -> None:
    result = runner.invoke(app, ["digest", "--week", "2026-W99"])
    assert result.exit_code == 2
    assert "2026 has no week 99" in result.stderr


def test_bench_digest_prints_one_json_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tiny run of the benchmark on SQLite: the figures it reports, not its speed."""
    monkeypatch.setenv("TOWNHALL_DIGEST__TIMEZONE", "UTC")
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    result = CliRunner().invoke(app, ["bench", "digest", "--messages", "300",
                                      "--database-url", url])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["messages"] == 300 and figures["previous_week_messages"] == 270
    assert figures["database"] == "sqlite" and figures["charts"] == 4
    assert figures["digest_s"] > 0 and figures["generate_data_s"] >= 0
    assert figures["database_mb"] > 0
    assert not (tmp_path / "bench.db").exists()  # a throwaway database

    (tmp_path / "precious.db").write_bytes(b"")
    refused = CliRunner().invoke(app, ["bench", "digest", "--messages", "10", "--database-url",
                                       f"sqlite:///{tmp_path / 'precious.db'}"])
    assert refused.exit_code == 2 and "the file exists" in refused.stderr
