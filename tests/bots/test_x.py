"""The X adapter through tweepy against the fake X API: parsing, polling, access, sending."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bots.x import XApiClient, XChannel, has_personal_details, split_post, to_inbound
from bots.x.text import weighted_length
from townhall.domain import Address, InboundEvent, InboundMessage, OutboundMessage, SendError
from townhall.testing.fake_x import FakeX, MemoryCheckpoints

# --- pure parts -------------------------------------------------------------------------------


def test_to_inbound_reads_a_mention() -> None:
    post = {
        "id": "1800000000000000001", "text": "@SpringfieldGov @mayor Is &quot;Elm&quot; &amp; "
        "5th &lt;closed&gt;?", "author_id": "42", "conversation_id": "1800000000000000001",
        "created_at": "2026-11-30T10:00:00.000Z", "lang": "es",
        "edit_history_tweet_ids": ["1800000000000000001"],
    }  # fmt: skip
    includes = {"users": [{"id": "42", "name": "Dana K", "username": "dana_k"}]}
    event = to_inbound(post, includes)
    assert isinstance(event, InboundMessage)
    assert event.text == "Is &quot;Elm&quot; & 5th <closed>?"  # only what X escapes
    assert event.address == Address("x", "42", "1800000000000000001", "1800000000000000001")
    assert event.sender.display_name == "Dana K (@dana_k)"
    assert event.sender.language_code == "es"
    assert event.sent_at == datetime(2026, 11, 30, 10, tzinfo=UTC)
    assert not event.is_private and not event.listen_only and event.command is None


def test_to_inbound_commands_retweets_and_empty_mentions() -> None:
    base = {"id": "1800000000000000002", "author_id": "42"}
    command = to_inbound({**base, "text": "@SpringfieldGov /Status TH-00042"})
    assert command is not None and (command.command, command.args) == ("status", "TH-00042")
    listened = to_inbound({**base, "text": "/status is a word here"}, listen_only=True)
    assert listened is not None and listened.command is None and listened.listen_only
    retweet = {**base, "text": "RT @eve: pothole", "referenced_tweets": [
        {"type": "retweeted", "id": "1"}]}  # fmt: skip
    assert to_inbound(retweet) is None
    assert to_inbound({**base, "text": "@SpringfieldGov "}) is None


def test_to_inbound_names_the_post_a_mention_replies_to() -> None:
    base = {"id": "1800000000000000003", "author_id": "42", "text": "@SpringfieldGov 2"}
    reply = {**base, "referenced_tweets": [
        {"type": "quoted", "id": "1799999999999999990"},
        {"type": "replied_to", "id": "1799999999999999999"},
    ]}  # fmt: skip
    event = to_inbound(reply)
    assert event is not None and event.reply_to_id == "1799999999999999999"
    fresh = to_inbound(base)
    assert fresh is not None and fresh.reply_to_id is None
    listened = to_inbound({**reply, "text": "2 potholes on Elm"}, listen_only=True)
    assert listened is not None and listened.reply_to_id is None  # never a reply to us


words = st.one_of(
    st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=12
    ),
    st.sampled_from(["https://city.example/collection/schedule?zone=4", "🚧", "市政厅", "\n\n"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(words, min_size=1, max_size=200))
def test_split_posts_fit_and_lose_nothing(parts: list[str]) -> None:
    text = " ".join(parts)
    posts = split_post(text)
    assert all(weighted_length(post) <= 280 for post in posts)
    assert "".join("".join(posts).split()) == "".join(text.split())


def test_weights_follow_x() -> None:
    assert weighted_length("x" * 280) == 280
    assert weighted_length("see https://city.example/a/very/long/path/indeed") == 4 + 23
    assert weighted_length("市政厅") == 6 and weighted_length("🚧") == 2


def test_personal_details_rule() -> None:
    assert has_personal_details("Call Sam on 555-201-3344 tomorrow")
    assert has_personal_details("write to sam.staff@springfield.example")
    assert not has_personal_details("Call 311 on 2026-12-01 about TH-00042, or @SpringfieldGov")


# --- the channel against the fake -------------------------------------------------------------


class Inbox:
    def __init__(self, fail_at: int | None = None) -> None:
        self.events: list[InboundEvent] = []
        self.fail_at = fail_at

    async def __call__(self, event: InboundEvent) -> None:
        if self.fail_at is not None and len(self.events) == self.fail_at:
            raise RuntimeError("the process died here")
        self.events.append(event)


class Notes:
    def __init__(self) -> None:
        self.texts: list[str] = []

    async def __call__(self, text: str) -> None:
        self.texts.append(text)


def make_channel(fake: FakeX, checkpoints: MemoryCheckpoints | None = None, **kwargs) -> XChannel:
    keys = kwargs.pop("keys", fake.credentials)
    client = XApiClient(api_url=fake.base_url, **keys)
    return XChannel(client, checkpoints=checkpoints or MemoryCheckpoints(), **kwargs)


@pytest.fixture
async def fake() -> AsyncIterator[FakeX]:
    async with FakeX() as server:
        yield server


async def test_mentions_are_read_across_pages_oldest_first(fake: FakeX) -> None:
    posted = [fake.mention(f"question {n}", by=f"citizen{n}") for n in range(12)]
    channel, inbox = make_channel(fake, page_size=5), Inbox()
    await channel.start(inbox)
    assert await channel.poll_mentions() == 12
    assert [e.external_id for e in inbox.events] == [p["id"] for p in posted]
    assert await channel.poll_mentions() == 0  # the checkpoint holds
    mentions = fake.calls_to("mentions")
    assert len(mentions) == 4 and mentions[-1].params["since_id"] == posted[-1]["id"]
    await channel.stop()


async def test_a_crash_mid_page_neither_misses_nor_repeats(fake: FakeX) -> None:
    posted = [fake.mention(f"question {n}", by="dana") for n in range(8)]
    checkpoints = MemoryCheckpoints()
    first, crashed = make_channel(fake, checkpoints), Inbox(fail_at=3)
    await first.start(crashed)
    assert await first.poll_mentions() == 0  # logged; the next poll starts from the checkpoint
    await first.stop()
    assert list(checkpoints.data.values()) == [posted[2]["id"]]
    second, inbox = make_channel(fake, checkpoints), Inbox()
    await second.start(inbox)
    await second.poll_mentions()
    await second.stop()
    delivered = [e.external_id for e in crashed.events + inbox.events]
    assert delivered == [p["id"] for p in posted]


async def test_listening_ingests_matches_listen_only(fake: FakeX) -> None:
    fake.post("Huge pothole on Elm Street again", by="eve")
    fake.post("Lovely day in the park", by="eve")
    fake.mention("the pothole on Elm is back", by="dana")  # the mentions poll answers this one
    fake.post("RT pothole", by="rob", retweet_of="1")
    queries = ["pothole", "#parks OR park"]
    channel, inbox = make_channel(fake, queries=lambda: _async(queries)), Inbox()
    await channel.start(inbox)
    assert await channel.poll_listening() == 2
    assert [(e.text, e.listen_only) for e in inbox.events] == [
        ("Huge pothole on Elm Street again", True),
        ("Lovely day in the park", True),
    ]
    assert await channel.poll_listening() == 0
    await channel.stop()


async def _async(value):
    return value


async def test_a_tier_without_search_turns_listening_off_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with FakeX(tier="no-search") as fake:
        notes, inbox = Notes(), Inbox()
        channel = make_channel(fake, queries=lambda: _async(["pothole"]), notify=notes)
        await channel.start(inbox)
        fake.mention("is the library open?", by="dana")
        with caplog.at_level(logging.WARNING, logger="bots.x.channel"):
            for _ in range(3):
                assert await channel.poll_listening() == 0
        assert len(fake.calls_to("search")) == 1  # no busy loop
        assert await channel.poll_mentions() == 1
        assert channel.capabilities["search"] != "on" and channel.capabilities["post"] == "on"
        [note] = notes.texts
        assert "keyword listening turned off" in note and "403" in note
        assert [r.message for r in caplog.records] == [note]
        await channel.stop()


async def test_refused_keys_turn_user_features_off_without_crashing(fake: FakeX) -> None:
    notes = Notes()
    keys = {**fake.credentials, "access_token_secret": "stale"}
    channel = make_channel(fake, keys=keys, notify=notes, queries=lambda: _async(["pothole"]))
    await channel.start(Inbox())
    fake.post("pothole on Oak", by="eve")
    assert await channel.poll_mentions() == 0
    assert await channel.poll_listening() == 1  # the bearer token still reads
    assert len(fake.calls_to("me")) == 1 and not fake.calls_to("mentions")
    assert (
        len(notes.texts) == 1
        and "answering mentions, reply posts, direct messages" in (notes.texts[0])
    )
    with pytest.raises(SendError) as caught:
        await channel.send(OutboundMessage(Address("x", "1", None, "2"), "hi"))
    assert caught.value.permanent
    await channel.stop()


async def test_a_429_pauses_that_endpoint_until_its_reset(fake: FakeX) -> None:
    channel, inbox = make_channel(fake, queries=lambda: _async(["pothole"])), Inbox()
    await channel.start(inbox)
    fake.exhaust("mentions", reset_in=1.0)
    mention = fake.mention("when is garbage day?", by="dana")
    fake.post("pothole on Oak", by="eve")
    assert await channel.poll_mentions() == 0
    assert await channel.poll_mentions() == 0
    assert [c.status for c in fake.calls_to("mentions")] == [429]  # the second never left
    assert await channel.poll_listening() == 1  # search is not held up
    for _ in range(60):
        if await channel.poll_mentions():
            break
        await asyncio.sleep(0.1)
    assert inbox.events[-1].external_id == mention["id"]
    assert [c.status for c in fake.calls_to("mentions")] == [429, 200]
    await channel.stop()


async def test_a_thread_cut_by_a_rate_limit_continues_where_it_stopped() -> None:
    async with FakeX(rate_limits={"post": (1, 1.0)}) as fake:
        channel = make_channel(fake)
        await channel.start(Inbox())
        mention = fake.mention("tell me everything", by="dana")
        address = Address("x", mention["author_id"], None, mention["id"])
        text = ("All about it. " * 30).strip()
        with pytest.raises(SendError) as caught:
            await channel.send(OutboundMessage(address, text))
        assert not caught.value.permanent and caught.value.retry_after
        assert len(fake.posts) == 1
        await asyncio.sleep(caught.value.retry_after)
        last = await channel.send(OutboundMessage(address, text))
        first, second = fake.posts
        assert second["id"] == last and second["referenced_tweets"][0]["id"] == first["id"]
        assert "".join((first["text"] + second["text"]).split()) == "".join(text.split())
        await channel.stop()


async def test_personal_details_go_by_direct_message(fake: FakeX) -> None:
    channel = make_channel(fake, dm_personal_details=True)
    await channel.start(Inbox())
    mention = fake.mention("who do I call about my case?", by="dana")
    address = Address("x", mention["author_id"], None, mention["id"])
    await channel.send(OutboundMessage(address, "Call Sam on 555-201-3344."))
    public = await channel.send(OutboundMessage(address, "The office opens at 9."))
    assert [d["text"] for d in fake.dms] == ["Call Sam on 555-201-3344."]
    assert [p["id"] for p in fake.posts] == [public]
    await channel.stop()


async def test_direct_messages_outside_the_tier_are_refused_permanently() -> None:
    async with FakeX(tier="free", denial="453") as fake:
        notes = Notes()
        channel = make_channel(fake, dm_personal_details=True, notify=notes)
        await channel.start(Inbox())
        citizen = fake.post("hello", by="dana")
        address = Address("x", citizen["author_id"], None, citizen["id"])
        for _ in range(2):
            with pytest.raises(SendError) as caught:
                await channel.send(OutboundMessage(address, "Mail me: a@b.example"))
            assert caught.value.permanent
        assert len(fake.calls_to("dm")) == 1 and len(notes.texts) == 1
        assert fake.dms == []
        await channel.send(OutboundMessage(address, "Public answers still work."))
        assert len(fake.posts) == 1
        await channel.stop()
