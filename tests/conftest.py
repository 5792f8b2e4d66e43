"""Test fixtures: real databases (SQLite files and PostgreSQL), real models, no internet.

Every test that touches storage runs on both backends through the `database_url` fixture. The
PostgreSQL side needs `TOWNHALL_TEST_POSTGRES_URL` (a server where the role may create
databases); `.ci/run` always sets it, locally it is skipped with a reason when unset.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ProgrammingError

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("TOWNHALL_TEST_POSTGRES_URL", "")
KEEP_ENV = {"TOWNHALL_TEST_POSTGRES_URL", "TOWNHALL_PLATFORM_FIXTURES"}

# --- no internet ------------------------------------------------------------------------------

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class NetworkBlocked(RuntimeError):
    """A test tried to leave this machine."""


def _check_address(address: object) -> None:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        try:
            if ipaddress.ip_address(host.split("%")[0]).is_loopback:
                return
        except ValueError:
            if host == "localhost":
                return
        raise NetworkBlocked(f"tests must not reach the network: connection to {address!r}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check_address(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check_address(address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if host not in (None, "localhost", "127.0.0.1", "::1", b"localhost", b"127.0.0.1"):
        try:
            ipaddress.ip_address(host if isinstance(host, str) else host.decode())
        except ValueError as exc:
            raise NetworkBlocked(f"tests must not resolve external names: {host!r}") from exc
    return _real_getaddrinfo(host, *args, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["PTB_TIMEDELTA"] = "1"  # PTB's opt-in to timedelta durations, as `townhall` runs
    # settings from the developer's shell must not leak into tests
    for name in list(os.environ):
        if name.startswith("TOWNHALL_") and name not in KEEP_ENV:
            del os.environ[name]
    os.chdir(ROOT)


# --- databases --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated template database; each test clones it (fast) instead of migrating again."""
    if not POSTGRES_URL:
        pytest.skip("TOWNHALL_TEST_POSTGRES_URL is not set (CI always sets it)")
    from townhall.db import Database

    name = f"townhall_tpl_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    database.upgrade()
    database.close()
    yield name
    _drop_database(admin, name)


def _drop_database(admin: Engine, name: str) -> None:
    """Drop a test database, waiting out an autovacuum worker on it: WITH (FORCE) may not end
    that worker for a role that is not a superuser, and then fails instead."""
    try:
        for attempt in range(20):
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                return
            except ProgrammingError:
                if attempt == 19:
                    raise
                time.sleep(0.5)
    finally:
        admin.dispose()


def _postgres_database(template: str) -> Iterator[str]:
    name = f"townhall_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    _drop_database(admin, name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        from townhall.db import Database

        url = f"sqlite:///{tmp_path / 'townhall.db'}"
        database = Database(url)
        database.upgrade()
        database.close()
        yield url
    else:
        yield from _postgres_database(request.getfixturevalue("postgres_template"))


@pytest.fixture
def db(database_url: str):
    from townhall.db import Database

    database = Database(database_url)
    yield database
    database.close()


# --- models -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def models():
    """The real models, loaded once for the whole session."""
    from townhall.models import Models

    return Models.load()
