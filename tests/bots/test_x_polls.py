"""Poll posts through `XChannel` and tweepy against the fake X API: payload, totals, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bots.x import PollTotals, XApiClient, XChannel
from townhall.domain import Address, InboundEvent, SendError
from townhall.testing.fake_x import FakeX, MemoryCheckpoints

CITY = Address("x", "account")  # the address the polls service gives an X poll


async def _ignore(event: InboundEvent) -> None:
    pass


def make_channel(fake: FakeX, **keys: str | None) -> XChannel:
    client = XApiClient(api_url=fake.base_url, **{**fake.credentials, **keys})
    return XChannel(client, checkpoints=MemoryCheckpoints())


@pytest.fixture
async def fake() -> AsyncIterator[FakeX]:
    async with FakeX() as server:
        yield server


@pytest.fixture
async def channel(fake: FakeX) -> AsyncIterator[XChannel]:
    running = make_channel(fake)
    await running.start(_ignore)
    yield running
    await running.stop()


async def test_a_poll_is_a_top_level_post_with_the_right_payload(
    fake: FakeX, channel: XChannel
) -> None:
    post_id, poll_id = await channel.send_poll(
        CITY, "Which day for the farmers' market?", ["Saturday", "Sunday"], duration_minutes=60
    )
    [call] = fake.calls_to("post")
    assert call.params == {"text": "Which day for the farmers' market?",
                           "poll": {"options": ["Saturday", "Sunday"], "duration_minutes": 60}}
    [post] = fake.posts
    assert post["id"] == post_id and post["referenced_tweets"] == []
    assert poll_id == fake.poll_of(post_id)["id"] != post_id  # read back from the post
    [lookup] = fake.calls_to("lookup")
    assert lookup.params["expansions"] == "attachments.poll_ids"


async def test_a_poll_can_answer_a_post_and_lasts_a_day_by_default(
    fake: FakeX, channel: XChannel
) -> None:
    mention = fake.mention("ask people about the bike lanes", by="dana")
    address = Address("x", mention["author_id"], None, mention["id"])
    post_id, _ = await channel.send_poll(address, "Bike lanes on Elm?", ("Yes", "No", "Unsure"))
    assert fake.calls_to("post")[0].params["poll"]["duration_minutes"] == 1440
    assert [p["id"] for p in fake.replies_to(mention["id"])] == [post_id]


async def test_totals_come_back_after_votes_and_close_after_the_end(
    fake: FakeX, channel: XChannel
) -> None:
    before = datetime.now(UTC)
    post_id, poll_id = await channel.send_poll(CITY, "Open the pool at 7?", ["Yes", "No"],
                                               duration_minutes=30)
    fake.vote_in_poll(post_id, 1, count=5)
    fake.vote_in_poll(post_id, 2, count=2)
    totals = await channel.poll_totals(post_id)
    assert isinstance(totals, PollTotals)
    assert (totals.post_id, totals.poll_id) == (post_id, poll_id)
    assert totals.labels == ("Yes", "No") and totals.votes == (5, 2) and totals.total == 7
    assert totals.by_label() == {"Yes": 5, "No": 2} and totals.is_open
    assert totals.ends_at is not None
    assert before + timedelta(minutes=30) - timedelta(seconds=1) <= totals.ends_at
    assert totals.ends_at <= datetime.now(UTC) + timedelta(minutes=30)
    fake.advance(timedelta(minutes=31))
    closed = await channel.poll_totals(post_id)
    assert not closed.is_open and closed.votes == (5, 2) and closed.ends_at == totals.ends_at


BAD_POLLS: list[tuple[str, list[Any], int, str]] = [
    ("Which?", ["a", "b", "c", "d", "e"], 60, "2 to 4 options, not 5"),
    ("Which?", ["only one"], 60, "2 to 4 options, not 1"),
    ("Which?", ["Saturday morning at the market", "b"], 60, "is 30 characters (X allows 25)"),
    ("Which?", ["a", "  "], 60, "an option is empty"),
    ("x" * 281, ["a", "b"], 60, "a post holds at most 280"),
    ("🚧" * 141, ["a", "b"], 60, "282 characters as X counts them"),
    ("   ", ["a", "b"], 60, "the question is empty"),
    ("Which?", ["a", "b"], 4, "not 4 minutes"),
    ("Which?", ["a", "b"], 10081, "not 10081 minutes"),
]


@pytest.mark.parametrize(("question", "options", "minutes", "why"), BAD_POLLS)
async def test_polls_x_cannot_take_are_refused_before_any_call(
    fake: FakeX, channel: XChannel, question: str, options: list[Any], minutes: int, why: str
) -> None:
    calls = len(fake.calls)
    with pytest.raises(SendError) as caught:
        await channel.send_poll(CITY, question, options, duration_minutes=minutes)
    assert caught.value.permanent and why in str(caught.value)
    assert str(caught.value).startswith("x: this poll cannot be posted: ")
    assert len(fake.calls) == calls and fake.posts == []


async def test_every_reason_is_named_at_once(channel: XChannel) -> None:
    with pytest.raises(SendError) as caught:
        await channel.send_poll(CITY, "", ["a" * 26], duration_minutes=0)
    reasons = str(caught.value).split("posted: ", 1)[1].split("; ")
    assert len(reasons) == 4 and reasons[0] == "the question is empty"


async def test_a_429_on_the_create_is_a_retry_hint(fake: FakeX, channel: XChannel) -> None:
    fake.fail_next("post", 429, reset_in=2.0)
    for _ in range(2):  # the second attempt waits in the client: no call is made
        with pytest.raises(SendError) as caught:
            await channel.send_poll(CITY, "Which?", ["a", "b"])
        assert not caught.value.permanent
        assert caught.value.retry_after is not None and 1 <= caught.value.retry_after <= 4
    assert [c.status for c in fake.calls_to("post")] == [429] and fake.posts == []


async def test_a_server_error_on_the_create_is_retryable(fake: FakeX, channel: XChannel) -> None:
    fake.fail_next("post", 503)
    with pytest.raises(SendError) as caught:
        await channel.send_poll(CITY, "Which?", ["a", "b"])
    assert not caught.value.permanent and caught.value.retry_after is None
    post_id, poll_id = await channel.send_poll(CITY, "Which?", ["a", "b"])
    assert [p["id"] for p in fake.posts] == [post_id] and poll_id != post_id


async def test_a_failed_read_back_never_fails_a_poll_already_posted(
    fake: FakeX, channel: XChannel
) -> None:
    fake.fail_next("lookup", 503)
    post_id, poll_id = await channel.send_poll(CITY, "Which?", ["a", "b"])
    assert poll_id == post_id  # the post id stands in for the poll id
    assert len(fake.posts) == 1
    fake.vote_in_poll(post_id, 2)
    assert (await channel.poll_totals(post_id)).votes == (0, 1)  # the post id is the handle


async def test_reading_totals_maps_errors_like_sends(fake: FakeX, channel: XChannel) -> None:
    post_id, _ = await channel.send_poll(CITY, "Which?", ["a", "b"])
    fake.fail_next("lookup", 500)
    with pytest.raises(SendError) as caught:
        await channel.poll_totals(post_id)
    assert not caught.value.permanent and caught.value.retry_after is None
    with pytest.raises(SendError, match="not found") as caught:
        await channel.poll_totals("1234567890123")
    assert caught.value.permanent
    plain = fake.post("no poll here", by="eve")
    with pytest.raises(SendError, match="has no poll") as caught:
        await channel.poll_totals(plain["id"])
    assert caught.value.permanent
    fake.fail_next("lookup", 429, reset_in=2.0)
    with pytest.raises(SendError) as caught:
        await channel.poll_totals(post_id)
    assert not caught.value.permanent
    assert caught.value.retry_after is not None and 1 <= caught.value.retry_after <= 4


async def test_without_reads_a_poll_still_posts_but_totals_are_refused() -> None:
    async with FakeX(tier="free") as fake:
        channel = make_channel(fake)
        await channel.start(_ignore)
        post_id, poll_id = await channel.send_poll(CITY, "Which?", ["a", "b"])
        assert poll_id == post_id and len(fake.posts) == 1
        with pytest.raises(SendError) as caught:
            await channel.poll_totals(post_id)
        assert caught.value.permanent and "403" in str(caught.value)
        assert channel.capabilities["post"] == "on"  # reading totals turns nothing off
        await channel.stop()


async def test_a_stopping_channel_posts_no_poll(fake: FakeX) -> None:
    channel = make_channel(fake)
    await channel.start(_ignore)
    await channel.stop()
    with pytest.raises(SendError) as caught:
        await channel.send_poll(CITY, "Which?", ["a", "b"])
    assert not caught.value.permanent and fake.posts == []
