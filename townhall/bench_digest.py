"""`townhall bench digest`: how long the weekly digest takes over a week of a busy city.

The benchmark makes its own throwaway database (SQLite in a temporary directory, or a new
database on a PostgreSQL server, dropped afterwards), fills a fortnight with synthetic rows
shaped like the stored ones (`townhall.testing.digest_bulk`), then times the digest from a fresh
connection: loading category names, the queries, drawing the charts and writing the files.
PostgreSQL gets an ANALYZE after the bulk load, as autovacuum would give a real database;
SQLite gets none, as a real deployment's file has none either.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import text

from listening.digest import Targets, gather_digest
from listening.digest_charts import digest_charts
from listening.digest_job import category_names
from listening.digest_render import write_digest
from listening.digest_weeks import week_bounds
from townhall.bench_databases import throwaway_database
from townhall.db import Database
from townhall.settings import Settings
from townhall.testing.digest_bulk import generate_fortnight


def _memory_mb() -> tuple[float, float]:
    """(resident now, peak resident) of this process in MB."""
    now = 0.0
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                now = int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return round(now, 1), round(peak, 1)


def _database_mb(database: Database) -> float:
    with database.engine.connect() as connection:
        if database.is_sqlite:
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar_one()
            size = connection.exec_driver_sql("PRAGMA page_size").scalar_one()
            return round(pages * size / 2**20, 1)
        return round(connection.execute(
            text("SELECT pg_database_size(current_database())")).scalar_one() / 2**20, 1)


def _generate(url: str, week_label: str, timezone: str, messages: int, previous: int,
              console: Console) -> float:
    database = Database(url)
    try:
        database.upgrade()
        week = week_bounds(week_label, timezone)
        started = time.perf_counter()
        with Progress(TextColumn("generating"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console, transient=True) as progress:
            task = progress.add_task("rows", total=messages + previous)
            generate_fortnight(database.engine, week, messages, previous,
                               progress=lambda n: progress.advance(task, n))
        if not database.is_sqlite:
            with database.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("ANALYZE"))
        return time.perf_counter() - started
    finally:
        database.close()


def run_bench_digest(
    messages: int, previous: int, database_url: str, week_label: str, keep: bool,
    console: Console,
) -> dict[str, Any]:
    """Generate the data, time one digest, and return the figures."""
    settings = Settings.load()
    timezone = settings.digest.timezone
    week = week_bounds(week_label, timezone)
    with throwaway_database(database_url, keep, console) as (url, work):
        generate_s = _generate(url, week.label, timezone, messages, previous, console)
        database = Database(url)  # fresh connections: nothing cached from the load
        try:
            started = time.perf_counter()
            names = category_names(settings.classifiers.categories_path)
            targets = Targets(settings.digest.first_response_target_hours or 4.0,
                              settings.digest.resolution_target_hours or 72.0)
            with database.session() as session:
                digest = gather_digest(session, week, category_names=names, targets=targets,
                                       city=settings.city_name)
            gathered = time.perf_counter()
            charts = digest_charts(digest)
            drawn = time.perf_counter()
            files = write_digest(digest, work / "report", charts)
            finished = time.perf_counter()
            rss, peak = _memory_mb()
            database_mb = _database_mb(database)
            html_kb = round(files.html.stat().st_size / 1024, 1)
        finally:
            database.close()
    return {
        "benchmark": "digest",
        "messages": digest.messages,
        "previous_week_messages": digest.previous_messages,
        "database": "sqlite" if url.startswith("sqlite") else "postgresql",
        "database_mb": database_mb,
        "week": week.label,
        "generate_data_s": round(generate_s, 2),
        "digest_s": round(finished - started, 2),
        "queries_s": round(gathered - started, 2),
        "charts_s": round(drawn - gathered, 2),
        "write_s": round(finished - drawn, 2),
        "html_kb": html_kb,
        "charts": len(charts),
        "cases_opened": digest.cases.opened,
        "rss_mb": rss,
        "peak_rss_mb": peak,
    }
