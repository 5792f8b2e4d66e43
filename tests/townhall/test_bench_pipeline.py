"""`townhall bench pipeline` in small, on SQLite and on PostgreSQL: every message is handled
and answered once, and the figures are consistent with each other.

No speed is asserted: timings depend on the machine and on whatever else runs on it. The
models are the session's (loaded once); the bench builds its own app on a throwaway database.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from tests.conftest import POSTGRES_URL
from townhall.bench_pipeline import SHARED_DATA, run_bench_pipeline
from townhall.cli import app

KEYS = {
    "benchmark", "backend", "database", "n", "concurrency", "msgs_per_s",
    "encoder_only_msgs_per_s", "sentence_encoder_only_msgs_per_s", "overhead_ratio", "p50_ms",
    "p95_ms", "rss_mb", "handled", "replies_queued", "mean_batch",
}  # fmt: skip
N = 60

pytestmark = [
    pytest.mark.models,
    pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"no shared data at {SHARED_DATA}"),
]


def _check(figures: dict, database: str) -> None:
    assert not KEYS - figures.keys(), figures
    assert (figures["benchmark"], figures["backend"]) == ("pipeline", "onnx")
    assert (figures["database"], figures["n"]) == (database, N)
    assert figures["handled"] == N and figures["replies_queued"] == N, figures
    assert sum(figures["responders"].values()) == N, figures
    assert figures["msgs_per_s"] > 0 and figures["encoder_only_msgs_per_s"] > 0, figures
    assert figures["sentence_encoder_only_msgs_per_s"] > 0, figures
    assert figures["overhead_ratio"] == pytest.approx(
        figures["msgs_per_s"] / figures["encoder_only_msgs_per_s"], rel=0.01)
    assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"], figures
    assert figures["mean_batch"] >= 1 and figures["rss_mb"] > 0, figures


@pytest.mark.timeout(300)
def test_every_message_is_handled_and_answered_once_on_sqlite(models, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    output = io.StringIO()
    figures = run_bench_pipeline(N, concurrency=16, warmup=20, single=3, database_url=url,
                                 models=models, keep=True,
                                 console=Console(file=output, soft_wrap=True))
    kept = re.search(r"kept: \S+ and (\S+)", output.getvalue())
    assert kept, output.getvalue()
    shutil.rmtree(kept.group(1))  # the bench's work folder; the database file is tmp_path's
    _check(figures, "sqlite")
    engine = create_engine(url)  # kept: counted here, not only as the bench reports it
    with engine.connect() as connection:
        handled = connection.execute(text(
            "SELECT count(*) FROM messages WHERE handled_at IS NOT NULL")).scalar_one()
        replies = connection.execute(text(
            "SELECT count(*) FROM outbox WHERE kind = 'message' AND key LIKE 'reply:%'")
        ).scalar_one()
    engine.dispose()
    assert handled == replies == 20 + N + 3  # the warm-up, the measured, one at a time


@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_every_message_is_handled_and_answered_once_on_postgresql(models) -> None:
    if not POSTGRES_URL:
        pytest.skip("TOWNHALL_TEST_POSTGRES_URL is not set (CI always sets it)")
    figures = run_bench_pipeline(N, concurrency=16, warmup=20, single=3,
                                 database_url=POSTGRES_URL, models=models,
                                 console=Console(file=io.StringIO()))
    _check(figures, "postgresql")


def test_the_command_refuses_an_existing_sqlite_file(tmp_path: Path) -> None:
    """The bench fills the database it is given: an existing file is refused, untouched."""
    (tmp_path / "precious.db").write_bytes(b"")
    result = CliRunner().invoke(app, ["bench", "pipeline", "--n", "10", "--database-url",
                                      f"sqlite:///{tmp_path / 'precious.db'}"])
    assert result.exit_code == 2 and "the file exists" in result.stderr
    assert (tmp_path / "precious.db").read_bytes() == b"" and result.stdout == ""
