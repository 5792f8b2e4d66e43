"""`townhall poll create` and `townhall poll results` against a real database."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from listening.models import Citizen, OutboxItem
from polls.models import PollVote
from townhall.cli import app
from townhall.db import Database
from townhall.domain import utcnow


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", database_url)
    monkeypatch.setenv("TOWNHALL_DATA_DIR", str(tmp_path))
    database = Database(database_url)
    database.ensure_schema()
    yield database
    database.close()


def _create(*extra: str) -> object:
    closes = (utcnow() + timedelta(days=1)).isoformat()
    return CliRunner().invoke(app, [
        "poll", "create", "--question", "Dog run?", "--option", "Yes", "--option", "No",
        "--audience", "group:-1001234", "--closes", closes, *extra,
    ], env={"COLUMNS": "300"})


def test_create_queues_the_poll_and_results_count_votes(env: Database) -> None:
    created = _create()
    assert created.exit_code == 0, created.output
    poll_id = json.loads(created.stdout)["poll_id"]
    kinds = env.transact(lambda s: sorted(s.exec(select(OutboxItem.kind)).all()))
    assert kinds == ["poll", "poll_card"]

    def vote(session) -> None:
        for k, option in enumerate([0, 0, 1]):
            citizen = Citizen(channel="telegram", pseudonym=f"voter-{k}")
            session.add(citizen)
            session.flush()
            session.add(PollVote(poll_id=poll_id, citizen_id=citizen.id, channel="telegram",
                                 option_ids=[option]))

    env.transact(vote)
    shown = CliRunner().invoke(app, ["poll", "results", str(poll_id)])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["voters"] == 3
    assert [(o["option"], o["votes"], o["percent"]) for o in data["options"]] == [
        ("Yes", 2, 66.7), ("No", 1, 33.3)
    ]
    as_csv = CliRunner().invoke(app, ["poll", "results", str(poll_id), "--format", "csv"])
    assert as_csv.stdout.splitlines() == [
        "option,votes,percent,telegram", "Yes,2,66.7,2", "No,1,33.3,1"
    ]


def test_a_bad_poll_or_an_unknown_id_exits_2_with_the_reason(env: Database) -> None:
    bad = _create("--option", "Yes")
    assert bad.exit_code == 2 and "the same" in bad.output
    missing = CliRunner().invoke(app, ["poll", "results", "999"], env={"COLUMNS": "300"})
    assert missing.exit_code == 2 and "no poll 999" in missing.output
