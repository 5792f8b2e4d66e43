"""The HTTP edge: signed Slack requests, the Telegram webhook secret, health, bad input.

Nothing that fails verification may reach the database.
"""

import io
import json
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlmodel import select

from listening.models import Message
from responders.models import Case, CaseEvent
from townhall.testing.harness import (
    STAFF_ID,
    WEBHOOK_SECRET,
    Harness,
    card_buttons,
    card_text,
    running_townhall,
)

CITIZEN = 5550002


@pytest.fixture
async def webhook_harness(models, database_url: str, tmp_path: Path):
    async with running_townhall(
        models, database_url=database_url, data_dir=tmp_path, telegram_mode="webhook"
    ) as h:
        yield h


@pytest.fixture
async def harness(models, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'web.db'}"
    async with running_townhall(models, database_url=url, data_dir=tmp_path) as h:
        yield h


async def _count(harness: Harness, model) -> int:
    return len(await harness.bot.db.run(lambda s: s.exec(select(model)).all()))


async def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as session, session.post(
        url, data=io.BytesIO(body), headers=headers
    ) as response:
        return response.status


async def test_telegram_webhook_answers_and_checks_its_secret(webhook_harness: Harness) -> None:
    h = webhook_harness
    h.telegram.user_sends("how do I pay a parking ticket", user_id=CITIZEN)
    [reply] = await h.wait_for_reply(CITIZEN)
    assert "ticket" in reply["text"].lower()
    assert h.telegram.webhook_responses == [200]

    url = f"{h.web_url}/telegram/webhook"
    update = json.dumps({"update_id": 99, "message": {"message_id": 1}}).encode()
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
        assert await _post(url, update, {"Content-Type": "application/json", **headers}) == 403
    good = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    assert await _post(url, b"{not json", good) == 400
    assert await _post(url, b'{"update_id": "x", "message": 5}', good) == 400
    assert await _post(url, b"x" * (2 * 1024 * 1024), good) == 413
    assert await _count(h, Message) == 1


async def test_telegram_webhook_redelivery_is_answered_once(webhook_harness: Harness) -> None:
    h = webhook_harness
    update = h.telegram.user_sends("when is my garbage picked up?", user_id=CITIZEN)
    await h.wait_for_reply(CITIZEN)
    assert await h.telegram.deliver_raw(update) == 200
    await h.outbox_settled()
    assert len([s for s in h.telegram.sent if s.get("chat_id") == CITIZEN]) == 1


@pytest.mark.parametrize(
    "tamper",
    ["bad-signature", "stale-timestamp", "no-headers"],
)
async def test_unverified_slack_requests_are_refused(harness: Harness, tamper: str) -> None:
    harness.telegram.user_sends(
        "The bus shelter on 5th Ave has had broken glass everywhere since Monday", user_id=CITIZEN
    )
    card = await harness.wait_for_card()
    case_id = card_buttons(card)["case_claim"]
    events_before = await _count(harness, CaseEvent)

    payload = {
        "type": "block_actions", "user": {"id": STAFF_ID}, "trigger_id": "1.2.abc",
        "team": {"id": "T0TOWNHAL1"}, "api_app_id": "A0TOWNHAL1", "token": "x",
        "channel": {"id": "C0TRIAGE01"}, "container": {"type": "message"},
        "actions": [{"action_id": "case_claim", "block_id": "case_actions", "value": case_id,
                     "type": "button", "action_ts": "1.1"}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if tamper == "bad-signature":
        headers |= harness.slack.sign(body)
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    elif tamper == "stale-timestamp":
        headers |= harness.slack.sign(body, timestamp=int(time.time()) - 600)
    status = await _post(f"{harness.web_url}/slack/events", body, headers)
    assert status == 401
    assert await _count(harness, CaseEvent) == events_before
    case = await harness.bot.db.run(lambda s: s.get(Case, int(case_id)))
    assert case.status == "new"

    # the same click, correctly signed by the fake, is accepted
    await harness.slack.click(STAFF_ID, message_ts=card["ts"], action_id="case_claim",
                              value=case_id)
    await harness.wait_for_card(lambda c: "Claimed" in card_text(c))


async def test_healthz(harness: Harness) -> None:
    async with aiohttp.ClientSession() as session, session.get(
        f"{harness.web_url}/healthz"
    ) as response:
        assert response.status == 200
        report = await response.json()
    assert report == {
        "ok": True, "database": True, "channels": ["telegram"], "console": "slack"
    }


async def test_socket_mode_end_to_end(models, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'socket.db'}"
    async with running_townhall(
        models, database_url=url, data_dir=tmp_path, slack_mode="socket"
    ) as h:
        assert h.slack.socket_connected
        h.telegram.user_sends(
            "The bus shelter on 5th Ave has had broken glass everywhere since Monday",
            user_id=CITIZEN,
        )
        card = await h.wait_for_card()
        delivery = await h.slack.click(
            STAFF_ID, message_ts=card["ts"], action_id="case_claim",
            value=card_buttons(card)["case_claim"],
        )
        assert delivery.mode == "socket" and delivery.acked
        await h.wait_for_card(lambda c: "Claimed" in card_text(c))
        await h.wait_for_reply(CITIZEN, count=2)
