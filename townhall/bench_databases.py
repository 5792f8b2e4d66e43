"""Throwaway databases for the benchmarks: a new SQLite file, or a new PostgreSQL database on
the server a URL names, removed afterwards (unless asked to keep it for a look)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def throwaway_database(
    url: str, keep: bool, console: Console, prefix: str = "townhall-bench-"
) -> Iterator[tuple[str, Path]]:
    """(database URL, work directory): a new SQLite file or PostgreSQL database, removed after."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    admin = None
    name = ""
    sqlite_file: Path | None = None
    if not url:
        url = f"sqlite:///{work / 'bench.db'}"
    elif make_url(url).get_backend_name() == "sqlite":
        sqlite_file = Path(make_url(url).database or "")
        if sqlite_file.exists():
            shutil.rmtree(work)
            raise ValueError(f"{url}: the file exists; give a new file, the bench fills it")
    else:
        name = f"townhall_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url, work
    finally:
        if keep:
            console.print(f"kept: {make_url(url).render_as_string()} and {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
            if sqlite_file is not None:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{sqlite_file}{suffix}").unlink(missing_ok=True)
            if admin is not None:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if admin is not None:
            admin.dispose()
