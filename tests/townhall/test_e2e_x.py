"""X end to end: fake X -> tweepy -> polling -> ingest -> responders -> outbox -> reply posts.

The real application runs against the fakes (harness), on both databases; X is polled every
0.2 s. Also: a restart in the middle of a page, a 429, a tier without search, and listening.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from listening.checkpoints import PollCheckpoint
from listening.models import Message, OutboxItem
from responders.models import Case
from townhall.testing.fake_x import FakeX
from townhall.testing.harness import (
    STAFF_ID,
    TRIAGE_CHANNEL,
    Harness,
    card_buttons,
    card_text,
    running_townhall,
)

LISTEN = {"listen_queries": ["pothole OR streetlight", "#SpringfieldParks"]}


@pytest.fixture
async def xh(models, database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_townhall(
        models, database_url=database_url, data_dir=tmp_path, x=True, x_settings=LISTEN
    ) as h:
        yield h


async def test_a_mention_is_answered_in_a_reply_post(xh: Harness) -> None:
    assert xh.x is not None
    mention = xh.x.mention("When is my garbage picked up?", by="dana")
    replies = await xh.wait_for_x_reply(mention)
    thread = " ".join(p["text"] for p in xh.x.posts)
    assert "collected once a week" in thread and len(replies) == 1
    assert xh.cards() == []
    await xh.outbox_settled()
    rows = await xh.bot.db.run(lambda s: s.exec(select(Message)).all())
    assert [(r.channel, r.kind, r.responder) for r in rows] == [("x", "message", "faq")]


async def test_an_escalated_mention_gets_the_staff_answer_under_it(xh: Harness) -> None:
    assert xh.x is not None
    mention = xh.x.mention(
        "The bus shelter on 5th Ave has had broken glass everywhere since Monday", by="carla"
    )
    [ack] = await xh.wait_for_x_reply(mention)
    reference = next(w.rstrip(";.") for w in ack["text"].split() if w.startswith("TH-"))
    card = await xh.wait_for_card(lambda c: reference in card_text(c))
    assert "@carla" in card_text(card)
    case_id = card_buttons(card)["case_reply"]
    await xh.slack.click(STAFF_ID, message_ts=card["ts"], action_id="case_reply", value=case_id)
    await xh.slack.wait_for(lambda: xh.slack.views)
    await xh.slack.submit_view(STAFF_ID, values={"reply": {"text": "A crew is on the way."}})
    replies = await xh.wait_for_x_reply(mention, count=2)
    assert "A crew is on the way." in replies[-1]["text"]


async def test_listened_posts_are_classified_and_never_answered(xh: Harness) -> None:
    assert xh.x is not None
    heard = [
        xh.x.post("Another pothole on Elm Street, my tyre is gone", by="eve"),
        xh.x.post("The streetlight at Oak & 3rd has been out for a week", by="rob"),
        xh.x.post("Picnic today! #SpringfieldParks", by="lia"),
    ]
    xh.x.post("Nothing to see here", by="zed")

    def listened(session):
        query = select(Message).where(Message.kind == "listening")
        return session.exec(query.where(col(Message.handled_at).is_not(None))).all()

    rows = await _eventually(xh, listened, 3)
    assert sorted(r.external_id for r in rows) == sorted(p["id"] for p in heard)
    assert all(r.responder is None for r in rows)
    categories = {r.text[:12]: r.classification["labels"]["category"] for r in rows}
    assert categories["Another poth"] == "roads_potholes"
    await asyncio.sleep(0.5)  # a few more polls: still nothing said, no case opened
    assert xh.x.posts == [] and xh.cards() == []
    assert await xh.bot.db.run(lambda s: s.exec(select(Case)).all()) == []
    assert await xh.bot.db.run(lambda s: s.exec(select(OutboxItem)).all()) == []


async def test_a_restart_in_the_middle_of_a_page_answers_each_mention_once(
    models, database_url: str, tmp_path: Path
) -> None:
    async with FakeX() as fake:
        mentions = [fake.mention(f"how do I pay a parking ticket? ({n})", by=f"driver{n}")
                    for n in range(10)]
        async with running_townhall(
            models, database_url=database_url, data_dir=tmp_path, x=fake
        ) as first:
            channel = first.bot.x
            assert channel is not None
            ingest, handled = channel._on_event, asyncio.Event()
            seen: list[str] = []

            async def counting(event):
                assert ingest is not None
                await ingest(event)
                seen.append(event.external_id)
                if len(seen) == 3:  # the process dies here: stopping cannot finish the page
                    handled.set()
                    await asyncio.Event().wait()

            channel._on_event = counting
            await asyncio.wait_for(handled.wait(), 30)
        assert len(seen) == 3  # stopped mid-page
        async with running_townhall(
            models, database_url=database_url, data_dir=tmp_path, x=fake
        ) as second:
            second.bot.outbox.lease_seconds = 1.0
            await fake.wait_for(lambda: all(fake.replies_to(m["id"]) for m in mentions),
                                timeout=30)
            await second.outbox_settled()
            await asyncio.sleep(0.5)  # more polls: nothing is answered again
            assert sorted(len(fake.replies_to(m["id"])) for m in mentions) == [1] * 10
            rows = await second.bot.db.run(lambda s: s.exec(select(Message)).all())
            assert len(rows) == 10
            [checkpoint] = await second.bot.db.run(
                lambda s: s.exec(select(PollCheckpoint)).all())
            assert checkpoint.since_id == mentions[-1]["id"]


async def test_a_429_pauses_mentions_until_the_reset_and_nothing_else(xh: Harness) -> None:
    assert xh.x is not None
    fake = xh.x
    await fake.wait_for(lambda: fake.calls_to("mentions"))  # the first poll has run
    paused_at = time.time()
    fake.exhaust("mentions", reset_in=1.5)
    mention = fake.mention("When is my garbage picked up?", by="dana")
    await fake.wait_for(lambda: [c for c in fake.calls_to("mentions") if c.status == 429])
    xh.telegram.user_sends("how do I pay a parking ticket", user_id=5550002)
    await xh.wait_for_reply(5550002)  # Telegram answers during the pause
    assert not fake.replies_to(mention["id"])
    await xh.wait_for_x_reply(mention, timeout=30)
    assert time.time() >= paused_at + 1.5
    statuses = [c.status for c in fake.calls_to("mentions") if c.at >= paused_at]
    assert statuses.count(429) == 1  # paused: no call until the reset, then resumed
    assert statuses[-1] == 200


async def test_a_tier_without_search_warns_staff_and_still_answers(
    models, database_url: str, tmp_path: Path
) -> None:
    async with FakeX(tier="no-search") as fake, running_townhall(
        models, database_url=database_url, data_dir=tmp_path, x=fake, x_settings=LISTEN
    ) as h:
        fake.post("pothole on Elm", by="eve")
        mention = fake.mention("When is my garbage picked up?", by="dana")
        await h.wait_for_x_reply(mention)

        def warnings() -> list[dict]:
            return [m for m in h.slack.messages(TRIAGE_CHANNEL)
                    if "keyword listening turned off" in m.get("text", "")]

        [warning] = await h.slack.wait_for(warnings)
        assert "client-forbidden" in warning["text"] or "403" in warning["text"]
        await asyncio.sleep(0.6)  # several listening intervals: one search call, ever
        assert len(fake.calls_to("search")) == 1 and len(warnings()) == 1


async def _eventually(h: Harness, query, count: int, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        rows = await h.bot.db.run(query)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.05)

