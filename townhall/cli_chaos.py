"""`townhall bench chaos`: the bot SIGKILLed again and again; prints one JSON object.

The command only reads the options; `townhall.bench_chaos` runs the fakes, the bot as a child
process, the citizens, the staff and the kills, and says what each figure means.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True, soft_wrap=True)


def bench_chaos(
    messages: Annotated[int, typer.Option(help="citizen messages to send")] = 2000,
    kill_every: Annotated[
        float,
        typer.Option(
            help="mean seconds the bot lives after reporting healthy before it is SIGKILLed "
            "(each life is 0.5-1.5 times this)"
        ),
    ] = 5.0,
    faults: Annotated[
        float,
        typer.Option(
            help="share of the fakes' API calls that fail (429 with retry_after, 5xx, hung, "
            "dropped) or answer slowly, 0..1"
        ),
    ] = 0.0,
    database_url: Annotated[
        str,
        typer.Option(
            help="PostgreSQL server to create a throwaway database in, or sqlite:///NEW-FILE; "
            "default: SQLite in a temporary directory"
        ),
    ] = "",
    seed: Annotated[int, typer.Option(help="seed of the messages, kills and faults")] = 0,
    rate: Annotated[float, typer.Option(help="citizen messages sent per second")] = 20.0,
    settle_timeout: Annotated[
        float,
        typer.Option(
            help="seconds to wait, once the kills stop, for everything pending to be done"
        ),
    ] = 300.0,
    timeout: Annotated[
        float, typer.Option(help="seconds the killing phase may last at most")
    ] = 3600.0,
    min_kills: Annotated[
        int, typer.Option(help="kill at least this many times, even if all is answered sooner")
    ] = 0,
    keep: Annotated[
        bool, typer.Option(help="keep the database and the bot's log (their location is printed)")
    ] = False,
) -> None:
    """Kill the running bot at random moments while citizens and staff write; count what was
    lost or sent twice. Prints one JSON object."""
    from townhall.bench_chaos import ChaosConfig, run_bench_chaos

    if messages < 1 or kill_every <= 0 or not 0 <= faults <= 1 or rate <= 0:
        console.print("[red]--messages >= 1, --kill-every > 0, --rate > 0, 0 <= --faults <= 1")
        raise typer.Exit(2)
    config = ChaosConfig(
        messages=messages,
        kill_every=kill_every,
        faults=faults,
        database_url=database_url,
        seed=seed,
        rate=rate,
        settle_timeout=settle_timeout,
        timeout=timeout,
        min_kills=min_kills,
        keep=keep,
    )
    try:
        result = run_bench_chaos(config, console)
    except ValueError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(result))
