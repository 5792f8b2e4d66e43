"""The `townhall` command: run the bot, run the demo, manage the database."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from townhall.cli_audit import audit
from townhall.cli_bench_all import bench_all
from townhall.cli_cases import cases_app
from townhall.cli_chaos import bench_chaos
from townhall.cli_citizens import citizen_app
from townhall.cli_digest import bench_digest, digest
from townhall.cli_duplicates import eval_duplicates
from townhall.cli_e2e import bench_e2e
from townhall.cli_faq import faq_app
from townhall.cli_ml import bench_classify, eval_app, train_app
from townhall.cli_opinions import eval_opinions, opinions_app
from townhall.cli_perf import bench_pipeline
from townhall.cli_polls import poll_app
from townhall.cli_settings import load_settings
from townhall.cli_trends import bench_emerging, eval_emerging
from townhall.log_redaction import install as install_redaction
from townhall.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic migrations).")
app.add_typer(db_app, name="db")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks; each prints one JSON object.")
app.add_typer(bench_app, name="bench")
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")
app.add_typer(faq_app, name="faq")
app.add_typer(poll_app, name="poll")
app.add_typer(citizen_app, name="citizen")
app.add_typer(cases_app, name="cases")
app.command("audit")(audit)
app.add_typer(opinions_app, name="opinions")
bench_app.command("classify")(bench_classify)
bench_app.command("digest")(bench_digest)
app.command("digest")(digest)
bench_app.command("emerging")(bench_emerging)
bench_app.command("chaos")(bench_chaos)
bench_app.command("e2e")(bench_e2e)
bench_app.command("pipeline")(bench_pipeline)
bench_app.command("all")(bench_all)
eval_app.command("emerging")(eval_emerging)
eval_app.command("duplicates")(eval_duplicates)
eval_app.command("opinions")(eval_opinions)

console = Console(stderr=True)
log = logging.getLogger("townhall")


def _setup_logging(level: str) -> None:
    handler = RichHandler(console=console, show_path=False, rich_tracebacks=True)
    install_redaction(handler)  # no resident's e-mail, phone or address in the logs
    logging.basicConfig(
        level=level.upper(), format="%(name)s: %(message)s", handlers=[handler], force=True,
    )
    for noisy in ("httpx", "apscheduler", "telegram.ext", "slack_bolt", "slack_sdk", "tweepy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _load_settings() -> Settings:
    return load_settings(console)


@app.command()
def run(
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """Run the bot against the real platforms, with the configured settings."""
    _setup_logging(log_level)
    settings = _load_settings()
    if not settings.telegram.enabled and not settings.x.enabled:
        console.print(
            "[red]No citizen channel is configured.[/red] Set TOWNHALL_TELEGRAM__TOKEN "
            "or the X keys (TOWNHALL_X__CONSUMER_KEY, ...) "
            "(and for staff: TOWNHALL_SLACK__BOT_TOKEN, TOWNHALL_SLACK__TRIAGE_CHANNEL, "
            "TOWNHALL_SLACK__STAFF, and TOWNHALL_SLACK__APP_TOKEN or "
            "TOWNHALL_SLACK__SIGNING_SECRET). See README.md."
        )
        raise typer.Exit(2)
    asyncio.run(_serve(settings))


async def _serve(settings: Settings) -> None:
    from townhall.app import Townhall
    from townhall.db import SchemaOutOfDate
    from townhall.models import Models

    with console.status("Loading models…"):
        models = await asyncio.to_thread(Models.from_settings, settings)
    bot = Townhall(settings, models)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await bot.start()
    except SchemaOutOfDate as exc:
        console.print(f"[red]{exc}[/red]")
        await bot.stop()
        raise typer.Exit(2) from exc
    log.info("Townhall is running. Ctrl+C stops it.")
    try:
        await stop.wait()
    finally:
        log.info("stopping…")
        await bot.stop()


@app.command()
def demo(
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Stay up after the script, until Ctrl+C.")
    ] = False,
    database_url: Annotated[
        str, typer.Option(help="Where the demo keeps its data (recreated at each run).")
    ] = "sqlite:///var/demo.db",
) -> None:
    """Run the whole bot against local fakes of Telegram and Slack, with a scripted story."""
    from townhall.demo import run_demo

    _setup_logging("warning")
    code = asyncio.run(run_demo(database_url=database_url, keep_running=keep_running))
    raise typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create or migrate the schema to the latest revision."""
    from townhall.db import Database

    settings = _load_settings()
    database = Database(settings.database_url)
    database.upgrade(revision)
    console.print(f"[green]Database at {revision}[/green]: {database.engine.url!r}")
    database.close()


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the configured database."""
    from townhall.db import Database, head_revision

    database = Database(_load_settings().database_url)
    current = database.current_revision()
    typer.echo(f"current: {current or 'empty'}  head: {head_revision()}")
    database.close()


@bench_app.command("roundtrip")
def bench_roundtrip(
    n: Annotated[int, typer.Option(help="Questions to time.")] = 50,
    mode: Annotated[str, typer.Option(help="polling or webhook")] = "polling",
) -> None:
    """A citizen's FAQ question to its answer, through the fake Telegram API."""
    import json

    from townhall.bench import roundtrip

    _setup_logging("warning")
    if mode not in ("polling", "webhook"):
        raise typer.BadParameter("mode must be polling or webhook")
    typer.echo(json.dumps(asyncio.run(roundtrip(n, mode))))  # type: ignore[arg-type]


@bench_app.command("x")
def bench_x(
    n: Annotated[int, typer.Option(help="Mentions in the burst.")] = 200,
    poll_interval: Annotated[float, typer.Option(help="Seconds between mention polls.")] = 0.2,
) -> None:
    """X mentions through the fake X API: burst throughput and mention-to-reply latency."""
    import json

    from townhall.bench import x_mentions

    _setup_logging("error")
    typer.echo(json.dumps(asyncio.run(x_mentions(n, poll_interval))))


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # python-telegram-bot's opt-in to timedelta durations (its int durations are deprecated)
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
