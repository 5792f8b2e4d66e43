"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from townhall.db import Database, head_revision
from townhall.tables import metadata


def test_migrations_match_models(db: Database) -> None:
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == []
    assert db.current_revision() == head_revision()


def test_downgrade_and_upgrade_again(db: Database) -> None:
    db.downgrade("base")
    assert db.current_revision() is None
    db.upgrade()
    assert db.current_revision() == head_revision()


async def test_units_of_work_run_off_the_loop_and_roll_back_on_error(db: Database) -> None:
    from sqlmodel import select

    from listening.models import Citizen

    def add_then_fail(session):
        session.add(Citizen(channel="telegram", pseudonym="p1"))
        session.flush()
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await db.run(add_then_fail)
    rows = await db.run(lambda s: s.exec(select(Citizen)).all())
    assert rows == []
