"""`townhall bench pipeline`: messages a second through ingest, classification, the responders
and storage, next to the classifier stages alone on the same texts (see
`townhall.bench_pipeline`). Heavy imports happen inside the command so that `townhall --help`
stays quick."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True, soft_wrap=True)


def bench_pipeline(
    n: Annotated[int, typer.Option(help="messages to time (after the warm-up)")] = 5000,
    concurrency: Annotated[int, typer.Option(help="messages in flight at once")] = 64,
    warmup: Annotated[int, typer.Option(help="messages ingested first, not counted")] = 300,
    database_url: Annotated[str, typer.Option(
        help="PostgreSQL server to create a throwaway database in, or sqlite:///NEW-FILE; "
             "default: SQLite in a temporary directory")] = "",
    backend: Annotated[Literal["onnx", "torch"] | None, typer.Option(
        help=r"encoder backend (default: \[classifiers] backend)")] = None,
    data: Annotated[Path, typer.Option(
        help="the shared data folder (train and validation splits are read)")] = Path(
        "../shared/data"),
    seed: Annotated[int, typer.Option(help="seed of the message mix")] = 0,
    keep: Annotated[bool, typer.Option(
        help="keep the throwaway database (its location is printed)")] = False,
) -> None:
    """N citizen messages through ingest, classify, respond and persist, without the platforms;
    prints one JSON object (msgs_per_s, encoder_only_msgs_per_s, overhead_ratio, latencies)."""
    import logging

    from townhall.bench_pipeline import run_bench_pipeline

    logging.basicConfig(level=logging.WARNING)
    try:
        result = run_bench_pipeline(
            n, concurrency=concurrency, warmup=warmup, database_url=database_url,
            backend=backend, data_dir=data, keep=keep, seed=seed, console=console,
        )
    except (ValueError, FileNotFoundError) as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(result))
