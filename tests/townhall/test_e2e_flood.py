"""Floods and spam end to end: acknowledged once, muted, staff told, nothing lost, no FAQ
statistics or trend embeddings from them."""

import asyncio

from sqlmodel import select

from listening.models import Message
from listening.trend_tables import MessageVector
from townhall.testing.harness import TRIAGE_CHANNEL, running_townhall

CITIZEN = 5590001


async def test_a_flood_is_acknowledged_once_then_muted(models, database_url, tmp_path) -> None:
    async with running_townhall(
        models, database_url=database_url, data_dir=tmp_path,
        abuse={"max_messages": 3, "window_seconds": 60, "mute_minutes": 10},
    ) as harness:
        tg = harness.telegram
        for count, question in enumerate(("When is my garbage picked up?",
                                           "How do I pay a parking ticket?",
                                           "What are the library opening hours?"), 1):
            tg.user_sends(question, user_id=CITIZEN)
            await harness.wait_for_reply(CITIZEN, count=count)
        answered = 3
        tg.user_sends("When are the council meetings?", user_id=CITIZEN)
        pause = (await harness.wait_for_reply(CITIZEN, count=answered + 1))[-1]
        assert "pause for 10 minutes" in pause["text"]
        notice = await harness.slack.wait_for(lambda: next(
            (m for m in harness.slack.messages(TRIAGE_CHANNEL) if "muted" in m["text"]), None))
        assert "sent 4 messages" in notice["text"]
        for text in ("hello?", "anyone?", "When is my garbage picked up?"):
            tg.user_sends(text, user_id=CITIZEN)
        await asyncio.sleep(1.5)
        await harness.outbox_settled()
        assert len([s for s in tg.sent if s.get("chat_id") == CITIZEN]) == answered + 1

        def stored(session) -> tuple[list[str | None], int]:
            rows = session.exec(select(Message).order_by(Message.id)).all()
            vectors = len(session.exec(select(MessageVector)).all())
            return [m.responder for m in rows], vectors

        responders, vectors = await harness.bot.db.run(stored)
        assert len(responders) == 7  # nothing lost
        assert responders[3:] == ["flood", "muted", "muted", "muted"]
        assert vectors == 3  # only the answered ones reach trend detection


async def test_repeats_and_link_floods_are_spam(harness) -> None:
    tg = harness.telegram
    repeated = "Visit my shop for the best deals in Springfield today"
    for _ in range(3):
        tg.user_sends(repeated, user_id=CITIZEN)
        await asyncio.sleep(0.3)
    tg.user_sends("http://a.example http://b.example http://c.example www.d.example",
                  user_id=CITIZEN + 1)
    await asyncio.sleep(1.5)
    await harness.outbox_settled()

    def responders(session) -> list[str | None]:
        return [m.responder for m in session.exec(select(Message).order_by(Message.id)).all()]

    marked = await harness.bot.db.run(responders)
    assert marked[2] == "spam" and marked[3] == "spam"
    assert marked[0] != "spam" and marked[1] != "spam"
    assert not [s for s in tg.sent if s.get("chat_id") == CITIZEN + 1]
