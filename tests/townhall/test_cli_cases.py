"""`townhall cases list|show|export` against a real database filled with a few cases."""

import csv
import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from listening.models import Citizen, Conversation, Message
from responders.models import Case, CaseAttachment, CaseEvent, CaseRating, CaseReporter
from townhall.cli import app
from townhall.cli_cases import EXPORT_FIELDS, LIST_FIELDS
from townhall.db import Database, head_revision

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ADDRESS = {"channel": "telegram", "chat_id": "555000", "thread_id": None, "reply_to": None}
# (reference, status, queue, category, hours after T0)
CASES = [
    ("CASE-00001", "resolved", "roads", "pothole", 0),
    ("CASE-00002", "new", "triage", "noise", 24),
    ("CASE-00003", "claimed", "roads", "pothole", 48),
    ("CASE-00004", "waiting", "parks", "trees", 72),
]


def _populate(session) -> None:
    """Four cases; the first is resolved and rated, the second has two reporters, a photo, a
    follow-up message and a history."""
    ana = Citizen(channel="telegram", pseudonym="p-ana", display_name="Ana")
    ben = Citizen(channel="telegram", pseudonym="p-ben")
    session.add_all([ana, ben])
    session.flush()
    chat = Conversation(citizen_id=ana.id, channel="telegram", chat_key="555000", address=ADDRESS)
    session.add(chat)
    session.flush()
    for n, (ref, status, queue, category, hours) in enumerate(CASES, start=1):
        at = T0 + timedelta(hours=hours)
        message = Message(
            channel="telegram",
            external_id=f"m{n}",
            citizen_id=ana.id,
            conversation_id=chat.id,
            text=f"opening {n}",
            event={"secret": 1},
            sent_at=at,
        )
        session.add(message)
        session.flush()
        case = Case(
            reference=ref,
            citizen_id=ana.id,
            conversation_id=chat.id,
            opened_by_message_id=message.id,
            channel="telegram",
            address=ADDRESS,
            status=status,
            queue=queue,
            category=category,
            summary=f"[b]Case {n}[/b]",
            created_at=at,
            updated_at=at,
            first_response_due=at + timedelta(hours=4),
        )
        session.add(case)
        session.flush()
        message.case_id = case.id
        session.add(
            CaseReporter(case_id=case.id, citizen_id=ana.id, message_id=message.id, address=ADDRESS)
        )
        if n == 1:
            case.first_response_at = at + timedelta(hours=2)
            case.resolved_at = at + timedelta(hours=30)
            case.service_request_id, case.open311_status = "SR-9", "closed"
            session.add_all(
                [
                    CaseRating(case_id=case.id, citizen_id=ana.id, score=4),
                    CaseRating(case_id=case.id, citizen_id=ben.id, score=5),
                ]
            )
        if n == 2:
            case.assignee = "U-staff"
            follow_up = Message(
                channel="telegram",
                external_id="m2b",
                citizen_id=ben.id,
                conversation_id=chat.id,
                case_id=case.id,
                text="me too",
                event={},
                sent_at=at + timedelta(hours=1),
            )
            session.add(follow_up)
            session.flush()
            session.add(
                CaseReporter(
                    case_id=case.id, citizen_id=ben.id, message_id=follow_up.id, address=ADDRESS
                )
            )
            session.add(
                CaseAttachment(
                    message_id=message.id,
                    case_id=case.id,
                    citizen_id=ana.id,
                    channel="telegram",
                    kind="photo",
                    ref="file-1",
                    size=2048,
                    latitude=48.85,
                    longitude=2.35,
                )
            )
            session.add_all(
                [
                    CaseEvent(
                        case_id=case.id,
                        actor="citizen",
                        kind="opened",
                        text="opening 2",
                        created_at=at,
                    ),
                    CaseEvent(
                        case_id=case.id,
                        actor="U-staff",
                        kind="claimed",
                        created_at=at + timedelta(hours=2),
                    ),
                ]
            )
        session.add(case)


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", database_url)
    monkeypatch.setenv("TOWNHALL_DATA_DIR", str(tmp_path))
    database = Database(database_url)
    database.ensure_schema()
    yield database
    database.close()


@pytest.fixture
def filled(env: Database) -> Database:
    env.transact(_populate)
    return env


def _run(*args: str) -> Result:
    return CliRunner().invoke(app, ["cases", *args], env={"COLUMNS": "200"})


def _refs(*args: str) -> list[str]:
    result = _run("list", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return [row["reference"] for row in json.loads(result.stdout)]


def test_list_shows_open_cases_oldest_first_and_filters(filled: Database) -> None:
    assert _refs() == ["CASE-00002", "CASE-00003", "CASE-00004"]
    assert _refs("--status", "all") == ["CASE-00004", "CASE-00003", "CASE-00002", "CASE-00001"]
    assert _refs("--status", "resolved") == ["CASE-00001"]
    assert _refs("--status", "claimed") == ["CASE-00003"]
    assert _refs("--queue", "roads") == ["CASE-00003"]
    assert _refs("--category", "pothole", "--status", "all") == ["CASE-00003", "CASE-00001"]
    assert _refs("--since", "2026-01-07") == ["CASE-00003", "CASE-00004"]
    assert _refs("--limit", "1") == ["CASE-00002"]


def test_list_json_csv_and_table(filled: Database) -> None:
    rows = json.loads(_run("list", "--format", "json").stdout)
    assert tuple(rows[0]) == LIST_FIELDS
    assert rows[0]["reporters"] == 2 and rows[0]["assignee"] == "U-staff"
    assert rows[0]["created_at"] == "2026-01-06T09:00:00+00:00"
    as_csv = _run("list", "--format", "csv")
    parsed = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["reference"] for r in parsed] == ["CASE-00002", "CASE-00003", "CASE-00004"]
    assert parsed[0]["reporters"] == "2" and tuple(parsed[0]) == LIST_FIELDS
    table = _run("list")
    assert table.exit_code == 0, table.output
    assert "CASE-00002" in table.stdout and "[b]Case 2[/b]" in table.stdout  # markup escaped
    assert "CASE-00001" not in table.stdout


def test_list_rejects_an_unknown_status(filled: Database) -> None:
    assert _run("list", "--status", "closed").exit_code == 2


def test_show_gives_the_whole_case_without_addresses(filled: Database) -> None:
    result = _run("show", "case-00002", "--json")
    assert result.exit_code == 0, result.output
    case = json.loads(result.stdout)
    assert case["reference"] == "CASE-00002" and case["reporters"] == 2
    assert case["display_name"] == "Ana"
    assert [(m["text"], m["sent_at"]) for m in case["messages"]] == [
        ("opening 2", "2026-01-06T09:00:00+00:00"),
        ("me too", "2026-01-06T10:00:00+00:00"),
    ]
    assert case["attachments"] == [
        {
            "kind": "photo",
            "size": 2048,
            "latitude": 48.85,
            "longitude": 2.35,
            "created_at": case["attachments"][0]["created_at"],
        }
    ]
    assert [(e["actor"], e["kind"]) for e in case["events"]] == [
        ("citizen", "opened"),
        ("U-staff", "claimed"),
    ]
    assert case["first_response_due"] == "2026-01-06T13:00:00+00:00"
    for key in (
        "service_request_id",
        "open311_status",
        "open311_notes",
        "open311_expected",
        "open311_error",
    ):
        assert key in case
    assert "555000" not in result.stdout and "secret" not in result.stdout
    resolved = json.loads(_run("show", "CASE-00001", "--json").stdout)
    assert [r["score"] for r in resolved["ratings"]] == [4, 5]
    assert resolved["service_request_id"] == "SR-9"
    text = _run("show", "CASE-00002")
    assert text.exit_code == 0 and "me too" in text.stdout and "claimed" in text.stdout


def test_show_an_unknown_reference_exits_1(filled: Database) -> None:
    result = _run("show", "CASE-99999")
    assert result.exit_code == 1 and "No case CASE-99999" in result.output


def test_export_json_and_csv(filled: Database, tmp_path: Path) -> None:
    out = tmp_path / "cases.json"
    result = _run("export", "--format", "json", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"cases": 4, "out": str(out), "format": "json"}
    rows = json.loads(out.read_text())
    assert [r["reference"] for r in rows] == [c[0] for c in CASES]
    first = rows[0]
    assert tuple(first) == EXPORT_FIELDS
    assert (first["first_response_hours"], first["resolution_hours"]) == (2.0, 30.0)
    assert (first["rating_average"], first["ratings"], first["reporters"]) == (4.5, 2, 1)
    assert first["resolved_at"] == "2026-01-06T15:00:00+00:00"
    assert rows[1]["rating_average"] is None and rows[1]["reporters"] == 2
    as_csv = tmp_path / "open.csv"
    result = _run(
        "export",
        "--format",
        "csv",
        "--out",
        str(as_csv),
        "--status",
        "open",
        "--since",
        "2026-01-07",
    )
    assert result.exit_code == 0, result.output
    with as_csv.open(newline="") as handle:
        parsed = list(csv.DictReader(handle))
    assert [r["reference"] for r in parsed] == ["CASE-00003", "CASE-00004"]
    assert tuple(parsed[0]) == EXPORT_FIELDS
    assert not list(tmp_path.glob(".*.part"))


def test_export_pages_through_many_cases(
    filled: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("townhall.cli_cases.PAGE", 1)
    out = tmp_path / "all.json"
    assert _run("export", "--format", "json", "--out", str(out)).exit_code == 0
    assert [r["reference"] for r in json.loads(out.read_text())] == [c[0] for c in CASES]


def test_export_of_no_cases(env: Database, tmp_path: Path) -> None:
    out, as_csv = tmp_path / "none.json", tmp_path / "none.csv"
    assert _run("export", "--format", "json", "--out", str(out)).exit_code == 0
    assert json.loads(out.read_text()) == []
    assert _run("export", "--format", "csv", "--out", str(as_csv)).exit_code == 0
    assert as_csv.read_text().strip() == ",".join(EXPORT_FIELDS)
    assert json.loads(_run("list", "--format", "json").stdout) == []


def test_a_database_behind_the_code_is_refused_and_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", f"sqlite:///{path}")
    result = _run("list")
    assert result.exit_code == 2 and "townhall db upgrade" in result.output
    database = Database(f"sqlite:///{path}")
    assert database.current_revision() is None and head_revision() is not None
    database.close()
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", f"sqlite:///{tmp_path / 'missing.db'}")
    assert _run("show", "CASE-00001").exit_code == 2
    assert not (tmp_path / "missing.db").exists()
