"""Engine, units of work and migrations.

Every database access is a *unit of work*: a plain function that takes a `Session`, runs in one
transaction and returns plain values. `Database.run` executes it off the event loop, on a worker
thread, so the bot's loop never waits on disk or on the network to PostgreSQL. SQLite gets a single
worker (one writer at a time is what SQLite allows anyway, and it avoids lock contention);
PostgreSQL gets a small pool.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from townhall.domain import StorageUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")

MIGRATIONS = Path(__file__).parent / "migrations"
# what the drivers raise when the database is away rather than the statement wrong: the server
# is down or refuses connections, the connection broke, SQLite's file is locked or unwritable,
# no pooled connection came free in time
UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine with the settings each backend needs to be safe under concurrent use."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


class Database:
    """Owns the engine and the worker threads that run units of work."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        workers = 1 if self.is_sqlite else 4
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="townhall-db")
        # why the last unit of work failed for want of the database, until one succeeds: a
        # read-only probe can pass while writes fail (a locked SQLite file), so health looks here
        self.unavailable: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def transact(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work(session, *args)` in one transaction, on the calling thread.

        Raises `StorageUnavailable` (from the driver's error) when the database is away.
        """
        try:
            with self.session() as session:
                result = work(session, *args)
        except UNAVAILABLE as exc:
            reason = str(exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc).strip()
            self.unavailable = reason.splitlines()[0][:300] if reason else type(exc).__name__
            raise StorageUnavailable(self.unavailable) from exc
        self.unavailable = None
        return result

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work(session, *args)` in one transaction on a database worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.transact, work, *args)

    async def probe(self) -> None:
        """`SELECT 1` on a worker thread; raises when the database does not answer. Unlike a
        unit of work it leaves `unavailable` alone: a read that passes proves nothing about
        writes."""

        def select_one() -> None:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, select_one)

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to `revision` with Alembic."""
        command.upgrade(alembic_config(self.url), revision)

    def downgrade(self, revision: str) -> None:
        command.downgrade(alembic_config(self.url), revision)

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def ensure_schema(self) -> None:
        """Migrate an embedded SQLite file; refuse to start on an outdated shared database.

        Several replicas upgrading a shared PostgreSQL at once would race, so there the upgrade
        is an explicit deployment step (`townhall db upgrade`).
        """
        if self.current_revision() == head_revision():
            return
        if self.is_sqlite:
            self.upgrade()
            return
        raise SchemaOutOfDate(
            f"the database schema is at {self.current_revision() or 'nothing'}, the code needs "
            f"{head_revision()}: run `townhall db upgrade` first"
        )

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    """Alembic configured in code, so it works from an installed package and any directory."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class SchemaOutOfDate(RuntimeError):
    """The database is behind the code's migrations."""


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def insert_or_ignore(
    session: Session, model: type, values: dict[str, Any], unique: list[str]
) -> bool:
    """INSERT unless a row with the same `unique` columns exists; True if this call inserted.

    `ON CONFLICT DO NOTHING` (both backends have it) is what makes idempotent writes safe when
    two tasks or two replicas race: the loser waits for the winner and then skips, no error.
    """
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = (
        dialect.insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=unique)
        .returning(getattr(model, unique[0]))  # rowcount is unreliable here on psycopg
    )
    return session.execute(statement).first() is not None
