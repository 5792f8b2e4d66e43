"""`townhall citizen block|unblock` finds the citizen by channel and user id, through the key."""

import json
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from listening.models import Citizen
from townhall.cli import app
from townhall.db import Database
from townhall.privacy import Pseudonymizer

KEY = "test-pseudonym-key-0123456789abcdef"


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", database_url)
    monkeypatch.setenv("TOWNHALL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TOWNHALL_SECURITY__PSEUDONYM_KEY", KEY)
    database = Database(database_url)
    database.ensure_schema()
    pseudonym = Pseudonymizer(KEY.encode())("telegram", "4242")
    database.transact(lambda s: s.add(Citizen(channel="telegram", pseudonym=pseudonym)))
    yield database
    database.close()


def _blocked(db: Database) -> bool:
    return db.transact(lambda s: s.exec(select(Citizen)).one().blocked_at is not None)


def test_block_and_unblock(env: Database) -> None:
    runner = CliRunner()
    blocked = runner.invoke(app, ["citizen", "block", "--channel", "telegram", "--user-id", "4242"])
    assert blocked.exit_code == 0, blocked.output
    assert json.loads(blocked.stdout)["blocked"] is True and _blocked(env)
    runner.invoke(app, ["citizen", "unblock", "--channel", "telegram", "--user-id", "4242"])
    assert not _blocked(env)


def test_an_unknown_citizen_exits_2(env: Database) -> None:
    result = CliRunner().invoke(
        app, ["citizen", "block", "--channel", "telegram", "--user-id", "1"],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 2 and "No citizen 1 on telegram" in result.output
