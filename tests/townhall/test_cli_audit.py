"""`townhall audit --case REF` on a case worked end to end through the fakes."""

import json

import pytest
from typer.testing import CliRunner

from townhall.cli import app
from townhall.testing.harness import STAFF_ID, Harness, card_buttons


async def test_audit_shows_decisions_staff_actions_and_deliveries(
    harness: Harness, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg, slack = harness.telegram, harness.slack
    tg.user_sends("The mural on the community centre wall is peeling off", user_id=5600001)
    card = await harness.wait_for_card()
    await slack.click(STAFF_ID, message_ts=card["ts"], action_id="case_claim",
                      value=card_buttons(card)["case_claim"])
    await harness.wait_for_reply(5600001, count=2)
    await harness.outbox_settled()
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", database_url)

    result = CliRunner().invoke(app, ["audit", "--case", "th-00001", "--json"])
    assert result.exit_code == 0, result.output
    trail = json.loads(result.stdout)
    [decision] = trail["decisions"]
    assert decision["responder"] == "escalation" and decision["language"] == "en"
    assert set(decision["labels"]) >= {"category", "sentiment"}
    assert all(decision["models"].get(label) for label in decision["labels"])
    assert 0 < decision["scores"]["category"] <= 1
    assert [e["kind"] for e in trail["history"]] == ["opened", "claimed"]
    assert trail["history"][1]["actor"] == STAFF_ID
    kinds = {d["kind"] for d in trail["deliveries"] if d["status"] == "sent"}
    assert {"card", "message"} <= kinds

    table = CliRunner().invoke(app, ["audit", "--case", "TH-00001"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "Automated decisions" in table.stdout
    missing = CliRunner().invoke(app, ["audit", "--case", "TH-99999"])
    assert missing.exit_code == 1
