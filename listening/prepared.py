"""Core SQL statements for the per-message path, built once (per dialect) and run with parameters.

Why: every citizen message runs a handful of small statements. Through the ORM (bulk-insert
machinery, autoflush, identity map) and with a statement rebuilt on every call (a new cache key
to compute), SQLAlchemy costs several times what the database itself does: on SQLite an
`insert_or_ignore` takes about 0.5 ms, the same INSERT prepared once and run with a dict of
parameters about 0.05 ms. `townhall bench pipeline` profiled the ORM work on the database thread
as the bottleneck of the whole ingest path, so the hot statements are written here in Core,
against the tables, doing exactly what the ORM versions did.

Core statements do not autoflush: a unit of work that also adds ORM objects must not read them
back through these (none does).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable
from sqlmodel import Session

DIALECTS: dict[str, ModuleType] = {"sqlite": sqlite, "postgresql": postgresql}


class Prepared:
    """A statement that depends on the dialect (`INSERT ... ON CONFLICT`), built on first use
    for each dialect: `prepared(session)` is the statement for the session's database."""

    def __init__(self, build: Callable[[ModuleType], Executable]):
        self._build = build
        self._built: dict[str, Executable] = {}

    def __call__(self, session: Session) -> Executable:
        name = session.get_bind().dialect.name
        statement = self._built.get(name)
        if statement is None:
            statement = self._built[name] = self._build(DIALECTS[name])
        return statement


def insert_ignoring(table: Table, unique: list[str], returning: str = "") -> Prepared:
    """`INSERT ... ON CONFLICT (unique) DO NOTHING RETURNING <returning, default the first
    unique column>`: a row comes back only when this statement inserted (rowcount is unreliable
    here on psycopg)."""

    def build(dialect: ModuleType) -> Executable:
        return (
            dialect.insert(table)
            .on_conflict_do_nothing(index_elements=unique)
            .returning(table.c[returning or unique[0]])
        )

    return Prepared(build)


def upsert(
    table: Table, unique: list[str], update_columns: tuple[str, ...], returning: tuple[str, ...]
) -> Prepared:
    """`INSERT`, or on a conflict over `unique` set `update_columns` from the values given: one
    statement that returns the `returning` columns of the row, inserted or not."""

    def build(dialect: ModuleType) -> Executable:
        statement = dialect.insert(table)
        return statement.on_conflict_do_update(
            index_elements=unique,
            set_={name: statement.excluded[name] for name in update_columns},
        ).returning(*(table.c[name] for name in returning))

    return Prepared(build)


def inserted(session: Session, prepared: Prepared, values: dict[str, Any]) -> bool:
    """Run an `insert_ignoring` statement; True when the row was inserted."""
    return session.execute(prepared(session), values).first() is not None
