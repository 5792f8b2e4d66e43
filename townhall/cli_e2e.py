"""`townhall bench e2e`: citizens writing at a steady rate to the real bot; prints one JSON object.

The command only reads the options; `townhall.bench_e2e` runs the fakes, the bot as a child
process and the citizens, and says what each figure means.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True, soft_wrap=True)


def bench_e2e(
    rate: Annotated[
        float,
        typer.Option(help="citizen messages per second (the first step's with --find-max-rate)"),
    ] = 50.0,
    seconds: Annotated[float, typer.Option(help="seconds citizens write for")] = 60.0,
    database_url: Annotated[
        str,
        typer.Option(
            help="PostgreSQL server to create a throwaway database in, or sqlite:///NEW-FILE; "
            "default: SQLite in a temporary directory"
        ),
    ] = "",
    backend: Annotated[str, typer.Option(help="encoder backend: onnx or torch")] = "onnx",
    mode: Annotated[str, typer.Option(help="Telegram delivery: polling or webhook")] = "polling",
    schedule: Annotated[
        str, typer.Option(help="send moments: poisson (random) or even (evenly spaced)")
    ] = "poisson",
    report_share: Annotated[
        float, typer.Option(help="share of messages that report a problem (open a case), 0..1")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="seed of the texts and send moments")] = 0,
    warmup: Annotated[int, typer.Option(help="messages sent one by one before timing")] = 10,
    reply_timeout: Annotated[
        float, typer.Option(help="seconds after the last send before a message counts as lost")
    ] = 30.0,
    find_max_rate: Annotated[
        bool,
        typer.Option(
            "--find-max-rate",
            help="step the rate up from --rate (short runs of --step-seconds) and report the "
            "highest that holds p95 <= --p95-limit-ms",
        ),
    ] = False,
    step_seconds: Annotated[float, typer.Option(help="seconds of each step")] = 15.0,
    p95_limit_ms: Annotated[float, typer.Option(help="the p95 a step must hold")] = 200.0,
    max_steps: Annotated[int, typer.Option(help="steps at most")] = 10,
    keep: Annotated[
        bool, typer.Option(help="keep the database and the bot's log (their location is printed)")
    ] = False,
) -> None:
    """The real bot process, through the Telegram fake, at a given rate: latency percentiles
    from a citizen's update to its reply, lost and duplicated replies, throughput, memory.
    Prints one JSON object."""
    from townhall.bench_e2e import E2EConfig, run_bench_e2e

    if rate <= 0 or seconds <= 0 or step_seconds <= 0 or not 0 <= report_share <= 1:
        console.print("[red]--rate, --seconds, --step-seconds > 0; 0 <= --report-share <= 1")
        raise typer.Exit(2)
    config = E2EConfig(
        rate=rate,
        seconds=seconds,
        database_url=database_url,
        backend=backend,
        mode=mode,
        schedule=schedule,
        report_share=report_share,
        seed=seed,
        warmup=warmup,
        reply_timeout=reply_timeout,
        find_max_rate=find_max_rate,
        step_seconds=step_seconds,
        p95_limit_ms=p95_limit_ms,
        max_steps=max_steps,
        keep=keep,
    )
    try:
        result = run_bench_e2e(config, console)
    except ValueError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(result))
