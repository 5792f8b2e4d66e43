"""`townhall digest` (the weekly issue report) and `townhall bench digest` (its speed).

The report's figures and files are made by `listening.digest_job`; this module only reads the
command line and the settings and says where the files went. Heavy imports (matplotlib, the
database) happen inside the commands so that `townhall --help` stays quick.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True, soft_wrap=True)


def digest(
    week: Annotated[str | None, typer.Option(
        help="ISO week, e.g. 2026-W48 (default: the last complete week in the digest's "
             "time zone)")] = None,
    out: Annotated[Path | None, typer.Option(
        help="directory for the report (default: the out_dir digest setting)")] = None,
) -> None:
    """Write the weekly issue digest: an HTML report and a Markdown version with its charts."""
    from listening.digest_job import build_weekly_digest
    from townhall.cli_settings import load_settings
    from townhall.db import Database, SchemaOutOfDate

    settings = load_settings(console)
    database = Database(settings.database_url)
    try:
        database.ensure_schema()
        result = build_weekly_digest(database, settings, week, out_dir=out)
    except (SchemaOutOfDate, ValueError) as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    finally:
        database.close()
    summary = result.summary
    if summary.empty:
        console.print(f"Week {summary.week} ({summary.period}): nothing was received.")
    else:
        console.print(
            f"Week {summary.week} ({summary.period}): {summary.messages:,} messages, "
            f"{summary.cases_opened:,} cases opened, {summary.cases_resolved:,} resolved."
        )
    console.print(f"[green]HTML[/green] {result.files.html}")
    console.print(f"[green]Markdown[/green] {result.files.markdown} "
                  f"(+ {len(result.files.images)} PNG files beside it)")


def bench_digest(
    messages: Annotated[int, typer.Option(help="messages in the reported week")] = 1_000_000,
    previous_messages: Annotated[int | None, typer.Option(
        help="messages in the week before (default: 90% of --messages)")] = None,
    database_url: Annotated[str, typer.Option(
        help="PostgreSQL server to create a throwaway database in, or sqlite:///NEW-FILE; "
             "default: SQLite in a temporary directory")] = "",
    week: Annotated[str, typer.Option(help="the week to fill and report")] = "2026-W48",
    keep: Annotated[bool, typer.Option(
        help="keep the generated database and report (their location is printed)")] = False,
) -> None:
    """Generate a busy week of messages, then time the digest over it; prints one JSON object."""
    from townhall.bench_digest import run_bench_digest

    previous = messages * 9 // 10 if previous_messages is None else previous_messages
    try:
        result = run_bench_digest(messages, previous, database_url, week, keep, console)
    except ValueError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(result))
