"""`townhall bench e2e` in small: the real bot process, a few seconds of citizens at a low rate
on SQLite, every message answered exactly once, and figures that make sense.

No speed is asserted: timings depend on the machine and on whatever else runs on it. Most of
the test's time is the bot's start (importing the libraries, loading the models).
"""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from townhall.bench_e2e import E2EConfig, run_bench_e2e

KEYS = {
    "benchmark", "database", "backend", "mode", "rate", "seconds", "sent", "answered", "lost",
    "duplicated", "p50_ms", "p95_ms", "p99_ms", "msgs_per_s", "rss_mb",
}  # fmt: skip


@pytest.mark.models
@pytest.mark.timeout(240)
def test_every_message_gets_exactly_one_reply_and_the_figures_add_up() -> None:
    config = E2EConfig(rate=4.0, seconds=3.0, warmup=2, report_share=0.3, seed=3)
    figures = run_bench_e2e(config, Console(file=io.StringIO()))
    assert not KEYS - figures.keys(), figures
    assert (figures["benchmark"], figures["database"]) == ("e2e", "sqlite")
    assert (figures["backend"], figures["mode"]) == ("onnx", "polling")
    assert figures["sent"] == 12, figures
    assert figures["answered"] == figures["sent"], figures
    assert figures["lost"] == 0 and figures["duplicated"] == 0, figures
    assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"], figures
    assert figures["msgs_per_s"] > 0 and figures["rss_mb"] > 0, figures
