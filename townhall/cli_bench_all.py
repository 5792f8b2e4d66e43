"""`townhall bench all`: run every benchmark and (with --markdown) rewrite the table in
docs/performance.md. Prints one JSON object: every run's command and figures."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

DEFAULT_DOC = Path("docs/performance.md")


def bench_all(
    markdown: Annotated[bool, typer.Option(
        help="write the table into --out between its markers")] = False,
    out: Annotated[Path, typer.Option(help="the document the table goes into")] = DEFAULT_DOC,
    postgres_url: Annotated[str, typer.Option(
        help="PostgreSQL server for the postgresql rows (a throwaway database is made on it "
             "for each run); default $TOWNHALL_BENCH_POSTGRES_URL; none: SQLite rows only",
    )] = "",
    only: Annotated[list[str] | None, typer.Option(
        help="run only these benchmarks (pipeline, e2e, e2e_max_rate, classify, digest, "
             "emerging); repeatable")] = None,
    quick: Annotated[bool, typer.Option(
        help="small sizes: checks that every benchmark runs; not figures for the table")] = False,
) -> None:
    """Every benchmark on both databases and both encoder backends, each as its own process."""
    from townhall.bench_all import markdown as render
    from townhall.bench_all import run_suite, shown_command, splice, suite, townhall_command

    console = Console(stderr=True)
    runs = suite(postgres_url or os.environ.get("TOWNHALL_BENCH_POSTGRES_URL") or None, quick)
    if only:
        runs = [run for run in runs if run.benchmark in only]
    if markdown and quick:
        raise typer.BadParameter("--quick figures do not belong in the table", param_hint="--quick")
    with console.status("") as status:
        done = 0

        def report(outcome) -> None:
            nonlocal done
            done += 1
            verdict = f"[red]failed[/] {outcome.error}" if outcome.error else "ok"
            console.print(f"[{done}/{len(runs)}] {shown_command(outcome.run)}: {verdict} "
                          f"({outcome.wall_s:.0f} s)")
            if done < len(runs):
                status.update(f"running {shown_command(runs[done])}")

        status.update(f"running {shown_command(runs[0])}" if runs else "")
        outcomes = run_suite(runs, townhall_command(), report)
    if markdown:
        document = out.read_text() if out.exists() else "# Performance\n"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(splice(document, render(outcomes)))
        console.print(f"wrote {out}")
    typer.echo(json.dumps({
        "benchmark": "all",
        "runs": [{"command": shown_command(o.run), "figures": o.figures, "error": o.error,
                  "wall_s": round(o.wall_s, 1)} for o in outcomes],
        "failed": sum(1 for o in outcomes if o.error),
    }))
    if any(o.error for o in outcomes):
        raise typer.Exit(1)
