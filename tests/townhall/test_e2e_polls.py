"""Subscriptions and polls end to end through python-telegram-bot, bolt and the fakes:
citizens subscribe, a poll goes to the topic's subscribers as a native non-anonymous poll, votes
(and a changed vote) are counted once per citizen, the Slack tally follows, and the poll closes
on time with the platform poll stopped and the subscribers told the result."""

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from listening.digest_weeks import week_label_of
from listening.models import Citizen, Message
from polls.models import PollDelivery, PollVote
from polls.service import PollDraft
from townhall.domain import utcnow
from townhall.testing.fake_slack import FakeSlack
from townhall.testing.fake_telegram import FakeTelegram
from townhall.testing.harness import (
    STAFF_ID,
    TRIAGE_CHANNEL,
    Harness,
    card_buttons,
    card_text,
    keyboard,
    running_townhall,
)

ANA, BEN, CARL = 7601, 7602, 7603


async def _subscribe_to_parks(harness: Harness, user_id: int) -> None:
    tg = harness.telegram
    tg.user_sends("/subscribe", user_id=user_id)
    [menu] = await harness.wait_for_reply(user_id)
    buttons = keyboard(menu)
    assert "Parks" in buttons and "Waste and recycling" in buttons
    tg.user_presses(buttons["Parks"], message=menu, user_id=user_id)
    [_, confirmed] = await harness.wait_for_reply(user_id, count=2)
    assert "Parks" in confirmed["text"]


async def _deliveries_recorded(harness: Harness, count: int) -> None:
    """Citizens vote once they see the poll, by which time the bot has recorded where it went;
    in a test the fake shows it to them before the bot hears back from sendPoll."""

    def recorded(session) -> int:
        return len(session.exec(select(PollDelivery)).all())

    deadline = asyncio.get_running_loop().time() + 10
    while await harness.bot.db.run(recorded) < count:
        assert asyncio.get_running_loop().time() < deadline, "the deliveries were not recorded"
        await asyncio.sleep(0.05)


async def test_a_poll_reaches_subscribers_counts_votes_and_closes(harness: Harness) -> None:
    await _subscribe_to_parks(harness, ANA)
    await _subscribe_to_parks(harness, BEN)
    harness.telegram.user_sends("/subscribe safety", user_id=CARL)  # another topic
    await harness.wait_for_reply(CARL)

    poll_id = await harness.bot.polls.create(PollDraft(
        question="Should Riverside Park get a dog run?", options=["Yes", "No", "Not sure"],
        audience="topic:parks", closes_at=utcnow() + timedelta(hours=1), created_by=STAFF_ID,
        announce_result=True,
    ))
    sent = await harness.telegram.wait_for_sent(
        lambda s: s.get("method") == "sendPoll", count=2, timeout=10
    )
    assert {s["chat_id"] for s in sent} == {ANA, BEN}
    assert all(s["poll"]["is_anonymous"] is False for s in sent)
    by_chat = {s["chat_id"]: s["poll"]["id"] for s in sent}
    await _deliveries_recorded(harness, 2)

    tg = harness.telegram
    tg.user_votes(by_chat[ANA], [0], user_id=ANA)
    tg.user_votes(by_chat[BEN], [1], user_id=BEN)
    tg.user_votes(by_chat[BEN], [0], user_id=BEN)  # Ben changes his mind

    def settled(session) -> bool:  # both votes in, Ben's changed one replacing his first
        votes = session.exec(select(PollVote)).all()
        return len(votes) == 2 and all(v.option_ids == [0] for v in votes)

    deadline = asyncio.get_running_loop().time() + 10
    while not await harness.bot.db.run(settled):
        assert asyncio.get_running_loop().time() < deadline, "the votes did not arrive"
        await asyncio.sleep(0.05)
    results = await harness.bot.polls.results(poll_id)
    assert results.counts == [2, 0, 0] and results.voters == 2
    assert results.by_channel == {"telegram": [2, 0, 0]}

    card = await harness.wait_for_card(lambda c: "Riverside Park" in card_text(c))
    assert "poll_close" in card_buttons(card)

    # staff close it from the card: the platform polls stop and subscribers get the result
    await harness.slack.click(STAFF_ID, message_ts=card["ts"], action_id="poll_close",
                              value=card_buttons(card)["poll_close"])
    stops = await harness.telegram.wait_for_sent(
        lambda s: s.get("method") == "stopPoll", count=2, timeout=10
    )
    assert {s["chat_id"] for s in stops} == {ANA, BEN}
    for chat in (ANA, BEN):
        replies = await harness.wait_for_reply(chat, count=3)
        assert "Yes: 2 (100%)" in replies[-1]["text"]
    final = await harness.wait_for_card(
        lambda c: c["ts"] == card["ts"] and card_text(c).startswith("Poll results")
    )
    assert card_buttons(final) == {}
    assert (await harness.bot.polls.results(poll_id)).status == "closed"
    chart = await harness.slack.wait_for(lambda: next(
        (m for m in harness.slack.thread(TRIAGE_CHANNEL, card["ts"])[1:] if m.get("files")),
        None), timeout=10)
    assert chart["files"][0]["name"].endswith(".png")
    assert "most chosen: Yes" in chart["text"]

    # the week's digest shows the poll's results
    week = week_label_of(utcnow().date())
    digest = await harness.bot.digests.run(week=week)
    html = digest.files.html.read_text()
    assert "Should Riverside Park get a dog run?" in html


async def test_due_polls_close_by_themselves(harness: Harness) -> None:
    await _subscribe_to_parks(harness, ANA)
    poll_id = await harness.bot.polls.create(PollDraft(
        question="Open the park gates earlier?", options=["Yes", "No"], audience="topic:parks",
        closes_at=utcnow() + timedelta(seconds=1), created_by=STAFF_ID,
    ))
    await harness.telegram.wait_for_sent(lambda s: s.get("method") == "sendPoll", timeout=10)
    await asyncio.sleep(1.1)
    assert await harness.bot.polls.close_due() == [poll_id]
    await harness.telegram.wait_for_sent(lambda s: s.get("method") == "stopPoll", timeout=10)
    assert await harness.bot.polls.close_due() == []



async def test_staff_create_a_poll_from_the_slack_modal(harness: Harness) -> None:
    await _subscribe_to_parks(harness, ANA)
    slack = harness.slack
    await slack.slash_command(STAFF_ID, "/townhall", "poll")
    await slack.wait_for(lambda: slack.views, timeout=10)

    refused = await slack.submit_view(STAFF_ID, values={
        "poll_question": {"poll_question": "More benches in Riverside Park?"},
        "poll_options": {"poll_options": "Yes"},
        "poll_audience": {"poll_audience": "topic:parks"},
    })
    assert "2 to 10" in refused.errors["poll_question"]

    await slack.submit_view(STAFF_ID, values={
        "poll_options": {"poll_options": "Yes\nNo\n\n"},
        "poll_duration": {"poll_duration": "6"},
        "poll_announce": {"poll_announce": ["yes"]},
    })
    [sent] = await harness.telegram.wait_for_sent(
        lambda s: s.get("method") == "sendPoll", timeout=10
    )
    assert sent["chat_id"] == ANA
    assert sent["poll"]["question"] == "More benches in Riverside Park?"
    assert [o["text"] for o in sent["poll"]["options"]] == ["Yes", "No"]
    card = await harness.wait_for_card(lambda c: "More benches" in card_text(c))
    assert f"<@{STAFF_ID}>" in card_text(card)


async def test_staff_announce_to_a_topic_s_subscribers(harness: Harness) -> None:
    await _subscribe_to_parks(harness, ANA)
    await _subscribe_to_parks(harness, BEN)
    harness.telegram.user_sends("/subscribe safety", user_id=CARL)
    await harness.wait_for_reply(CARL)
    slack = harness.slack
    await slack.slash_command(STAFF_ID, "/townhall", "announce zoo The zoo is open")
    assert "Unknown topic" in slack.ephemerals[-1]["text"]
    await slack.slash_command(
        STAFF_ID, "/townhall", "announce parks Riverside Park is closed Saturday for a race."
    )
    assert "2 subscriber(s) of Parks" in slack.ephemerals[-1]["text"]
    for chat in (ANA, BEN):
        replies = await harness.wait_for_reply(chat, count=3)
        assert replies[-1]["text"] == "Riverside Park is closed Saturday for a race."
    await harness.outbox_settled()
    carl = [s for s in harness.telegram.sent if s.get("chat_id") == CARL]
    assert all("Riverside" not in s.get("text", "") for s in carl)


async def test_a_poll_due_while_the_bot_was_down_closes_at_start(
    models, database_url: str, tmp_path: Path
) -> None:
    telegram, slack = FakeTelegram(), FakeSlack()
    await telegram.start()
    await slack.start()
    try:
        async with running_townhall(models, database_url=database_url, data_dir=tmp_path,
                                    fakes=(telegram, slack)) as first:
            await _subscribe_to_parks(first, ANA)
            poll_id = await first.bot.polls.create(PollDraft(
                question="Skate park by the river?", options=["Yes", "No"],
                audience="topic:parks", closes_at=utcnow() + timedelta(seconds=2),
                created_by=STAFF_ID,
            ))
            [sent] = await telegram.wait_for_sent(
                lambda s: s.get("method") == "sendPoll", timeout=10
            )
            await _deliveries_recorded(first, 1)
            telegram.user_votes(sent["poll"]["id"], [0], user_id=ANA)
            await first.outbox_settled()
        await asyncio.sleep(2.5)  # the bot is down when the poll is due

        async with running_townhall(models, database_url=database_url, data_dir=tmp_path,
                                    fakes=(telegram, slack)) as second:
            stopped = await telegram.wait_for_sent(
                lambda s: s.get("method") == "stopPoll", timeout=10
            )
            assert stopped[0]["chat_id"] == ANA
            results = await second.bot.polls.results(poll_id)
            assert results.status == "closed"
    finally:
        await slack.stop()
        await telegram.stop()


async def test_a_poll_on_x_is_a_poll_post_whose_totals_are_read_back(
    models, database_url: str, tmp_path: Path
) -> None:
    async with running_townhall(models, database_url=database_url, data_dir=tmp_path,
                                x=True) as h:
        assert h.x is not None
        poll_id = await h.bot.polls.create(PollDraft(
            question="Should the city plant more street trees?", options=["Yes", "No"],
            audience="x", closes_at=utcnow() + timedelta(hours=2), created_by=STAFF_ID,
        ))
        post = await h.x.wait_for(lambda: next(
            (p for p in h.x.posts if "street trees" in p["text"]), None), timeout=10)
        poll = h.x.poll_of(post["id"])
        assert poll is not None
        await h.outbox_settled()
        h.x.vote_in_poll(post["id"], 1, count=3)  # positions are 1-based on X
        h.x.vote_in_poll(post["id"], 2, count=1)
        assert await h.bot.poll_sender.refresh_totals() == 1
        results = await h.bot.polls.results(poll_id)
        assert results.counts == [3, 1] and results.voters == 4
        assert results.by_channel == {"x": [3, 1]}


async def test_a_blocked_citizen_is_not_answered_and_cannot_vote(harness: Harness) -> None:
    await _subscribe_to_parks(harness, ANA)
    await _subscribe_to_parks(harness, BEN)
    poll_id = await harness.bot.polls.create(PollDraft(
        question="New benches?", options=["Yes", "No"], audience="topic:parks",
        closes_at=utcnow() + timedelta(hours=1), created_by=STAFF_ID,
    ))
    sent = await harness.telegram.wait_for_sent(
        lambda s: s.get("method") == "sendPoll", count=2, timeout=10
    )
    await _deliveries_recorded(harness, 2)

    def block_ben(session) -> None:
        pseudonym = harness.bot.ingestor.pseudonymize("telegram", str(BEN))
        ben = session.exec(select(Citizen).where(Citizen.pseudonym == pseudonym)).one()
        ben.blocked_at = utcnow()
        session.add(ben)

    await harness.bot.db.run(block_ben)
    by_chat = {s["chat_id"]: s["poll"]["id"] for s in sent}
    harness.telegram.user_votes(by_chat[BEN], [1], user_id=BEN)
    harness.telegram.user_votes(by_chat[ANA], [0], user_id=ANA)
    harness.telegram.user_sends("hello?", user_id=BEN)

    def handled(session) -> int:
        return len(session.exec(
            select(Message).where(Message.responder == "blocked")).all())

    deadline = asyncio.get_running_loop().time() + 10
    while await harness.bot.db.run(handled) < 2:
        assert asyncio.get_running_loop().time() < deadline, "the blocked events were not seen"
        await asyncio.sleep(0.05)
    await harness.outbox_settled()
    results = await harness.bot.polls.results(poll_id)
    assert results.counts == [1, 0] and results.voters == 1
    assert len([s for s in harness.telegram.sent if s.get("chat_id") == BEN
                and s.get("method") == "sendMessage"]) == 2  # the subscribe menu and its answer
