"""Telegram groups end to end: listened to, answered only when addressed, private matters moved to
a private chat, through python-telegram-bot and the fake Bot API."""

import asyncio

from sqlmodel import select

from listening.models import Message, OutboxItem
from responders.models import Case
from townhall.testing.harness import Harness

GROUP = -1001234567
RESIDENT = 5550101
BOT = "@townhall_test_bot"


async def _stored(harness: Harness, external_id: str) -> Message:
    for _ in range(200):
        rows = await harness.bot.db.run(
            lambda s: s.exec(select(Message).where(Message.external_id == external_id)).all()
        )
        if rows and rows[0].handled_at is not None:
            return rows[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"message {external_id} was not handled")


def _group(**extra) -> dict:
    return {"chat_id": GROUP, "chat_type": "supergroup", "user_id": RESIDENT, **extra}


async def test_group_chatter_is_listened_to_not_answered(harness: Harness) -> None:
    update = harness.telegram.user_sends(
        "The potholes on Main Street are getting worse", **_group()
    )
    message = update["message"]
    stored = await _stored(harness, f"{GROUP}:{message['message_id']}")
    assert stored.kind == "listening"
    assert stored.responder is None
    assert stored.classification and stored.classification["labels"].get("category")
    await harness.outbox_settled()
    assert [s for s in harness.telegram.sent if s.get("method") == "sendMessage"] == []


async def test_a_mention_is_answered_in_the_group_quoting_the_question(harness: Harness) -> None:
    update = harness.telegram.user_sends(f"{BOT} when is my garbage picked up?", **_group())
    [reply] = await harness.wait_for_reply(GROUP)
    assert "collect" in reply["text"].lower()
    assert reply["reply_to_message_id"] == update["message"]["message_id"]
    stored = await _stored(harness, f"{GROUP}:{update['message']['message_id']}")
    assert stored.kind == "message" and stored.responder == "faq"


async def test_a_reply_to_the_bot_counts_as_addressed(harness: Harness) -> None:
    harness.telegram.user_sends(f"{BOT} when is my garbage picked up?", **_group())
    [answer] = await harness.wait_for_reply(GROUP)
    harness.telegram.user_sends(
        "and what about recycling?", reply_to_message_id=answer["message_id"], **_group()
    )
    await harness.wait_for_reply(GROUP, count=2)


async def test_escalation_from_a_group_moves_to_the_private_chat(harness: Harness) -> None:
    harness.telegram.user_sends("/start", user_id=RESIDENT)  # the resident has a private chat
    await harness.wait_for_reply(RESIDENT)
    harness.telegram.user_sends(
        f"{BOT} the bus shelter on 5th Ave has had broken glass everywhere since Monday",
        **_group(),
    )
    private = await harness.wait_for_reply(RESIDENT, count=2)
    assert "TH-" in private[-1]["text"]
    [notice] = await harness.wait_for_reply(GROUP)
    assert "private message" in notice["text"] and "TH-" not in notice["text"]
    [case] = await harness.bot.db.run(lambda s: s.exec(select(Case)).all())
    assert case.address["chat_id"] == str(RESIDENT)  # staff replies go to the private chat


async def test_status_in_a_group_without_a_private_chat_leaves_a_pointer(harness: Harness) -> None:
    harness.telegram.user_sends("/status", **_group())
    [notice] = await harness.wait_for_reply(GROUP)
    assert "press Start" in notice["text"]
    await harness.outbox_settled()
    failed = await harness.bot.db.run(
        lambda s: s.exec(select(OutboxItem).where(OutboxItem.status == "failed")).all()
    )
    assert [item.payload["address"]["chat_id"] for item in failed] == [str(RESIDENT)]
    assert "can't initiate" in (failed[0].last_error or "")
