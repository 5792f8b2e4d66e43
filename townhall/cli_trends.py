"""`townhall eval emerging` and `townhall bench emerging`.

Both print one JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import json
import os
import resource
import time
from datetime import timedelta
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from townhall.cli_ml import BackendOption, DataOption
from townhall.cli_settings import load_settings

console = Console(stderr=True)
ENCODE_CHUNK = 512


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=console, transient=True,
    )


def eval_emerging(
    data: DataOption,
    backend: BackendOption = "onnx",
    interval_minutes: Annotated[
        float | None, typer.Option(help="how often the job runs (default: the settings)")
    ] = None,
) -> None:
    """Replay a timestamped stream {text, timestamp, event} in simulated time, run the detector
    as the scheduler would, and score its alerts against the incidents."""
    from classifiers.encoder import MiniLMEncoder
    from classifiers.onnx_backend import OnnxEncoder
    from listening.trends import Rules
    from listening.trends_eval import read_stream, replay, score

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = load_settings(console)
    trends = settings.trends
    try:
        items = read_stream(data)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    started = time.perf_counter()
    if backend == "onnx":  # a batch job: one session over every core
        encoder = OnnxEncoder(settings.classifiers.onnx_cache, threads=os.cpu_count() or 1)
    else:
        encoder = MiniLMEncoder()
    texts = [item.text for item in items]
    chunks = []
    with _progress() as progress:
        task = progress.add_task("Embedding the stream", total=len(texts))
        for first in range(0, len(texts), ENCODE_CHUNK):
            chunks.append(encoder.encode(texts[first:first + ENCODE_CHUNK], batch_size=64))
            progress.advance(task, len(chunks[-1]))
        vectors = np.vstack(chunks) if chunks else np.zeros((0, 384), dtype=np.float32)
        task = progress.add_task("Replaying in simulated time", total=len(items))
        alerts = replay(
            items, vectors, rules=Rules.from_settings(trends),
            threshold=trends.topic_similarity,
            interval=timedelta(minutes=interval_minutes or trends.interval_minutes),
            progress=lambda n: progress.advance(task, n),
        )
    typer.echo(json.dumps(score(items, alerts, time.perf_counter() - started)))


def bench_emerging(
    messages: Annotated[int, typer.Option(help="messages in the 24-hour window")] = 100_000,
    database_url: Annotated[
        str | None, typer.Option(help="a new SQLite file to fill, or a PostgreSQL server to "
                                 "create a throwaway database on (default: a temporary SQLite)")
    ] = None,
    seed: int = 7,
) -> None:
    """Time the emerging-issue job over a 24-hour window it has not seen yet, then one
    ordinary run five minutes later; the data (synthetic embeddings with a few bursts) is
    generated first and not timed."""
    import asyncio

    from listening.alerts import TrendsJob
    from listening.trends import Rules
    from townhall.bench_data import fill_trends_window
    from townhall.bench_databases import throwaway_database
    from townhall.db import Database

    settings = load_settings(console)
    with throwaway_database(database_url or "", False, console) as (url, _):
        db = Database(url)
        db.upgrade()
        with _progress() as progress:
            task = progress.add_task("Generating messages", total=messages)
            end = fill_trends_window(
                db, messages, seed=seed, progress=lambda n: progress.advance(task, n)
            )
        job = TrendsJob(
            db, rules=Rules.from_settings(settings.trends),
            threshold=settings.trends.topic_similarity,
        )
        started = time.perf_counter()
        first = asyncio.run(job.run(now=end))
        first_s = time.perf_counter() - started
        fill_trends_window(db, 350, seed=seed + 1, start=end, hours=5 / 60, first_id=messages)
        started = time.perf_counter()
        second = asyncio.run(job.run(now=end + timedelta(minutes=5)))
        second_s = time.perf_counter() - started
        db.close()
    typer.echo(json.dumps({
        "benchmark": "emerging",
        "database": "sqlite" if url.startswith("sqlite") else "postgresql",
        "messages": messages,
        "job_s": round(first_s, 2),
        "placed": first.placed,
        "live_topics": first.topics,
        "alerts": len(first.raised),
        "next_run_s": round(second_s, 3),
        "next_run_placed": second.placed,
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))
