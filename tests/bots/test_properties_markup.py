"""Property-based tests: replies built from citizen or staff text never break the platform's
markup and never exceed its limits.

Every property goes through a real send path into a fake that enforces what the platform does:
the fake Telegram counts 4096 characters after parsing and refuses empty or malformed text, the
fake Slack validates Block Kit (section 3000, field 2000, header 150) and the 40,000-character
message limit. Citizen text must arrive as literal text: no entity Telegram would format, no
Slack mention or link (`<!channel>`, `<@U...>`, `<https://...|...>`) that could ping staff or
disguise a URL. Lost characters are only whitespace at the cuts of a split message.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bots.slack.blocks import (
    FIELD_LIMIT,
    HEADER_LIMIT,
    SECTION_LIMIT,
    card_blocks,
    card_fallback_text,
)
from bots.slack.posting import SlackPosting
from bots.telegram import TelegramChannel
from bots.x.text import MAX_POST_WEIGHT, has_personal_details, split_post, weighted_length
from townhall.domain import Address, Button, Card, CardField, OutboundMessage, Select
from townhall.testing.fake_slack import FakeSlack
from townhall.testing.fake_slack_validate import block_errors
from townhall.testing.fake_telegram import FakeTelegram
from townhall.testing.hostile import SNIPPETS, hostile_text, visible_hostile_text

PROPS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture,
    ],
)  # fmt: skip
CITIZEN = 1001
# Telegram entities that only markup (parse_mode or explicit entities) can create
FORMATTING = {"bold", "italic", "underline", "strikethrough", "spoiler", "code", "pre",
              "text_link", "text_mention", "custom_emoji", "blockquote"}  # fmt: skip
# an escaped Slack text may hold these entities and no other &, < or >
_ENTITY = re.compile(r"&(?:amp|lt|gt);")


def _content(text: str) -> str:
    """The text without its whitespace: what must survive splitting and Telegram's trim."""
    return "".join(text.split())


def _literal_mrkdwn(text: str) -> bool:
    """Whether `text` is escaped mrkdwn: no raw `<`, `>` or `&` that Slack would parse."""
    return not re.search(r"[<>&]", _ENTITY.sub("", text))


# --- Telegram: TelegramChannel.send into the fake Bot API --------------------------------------


@pytest.fixture(scope="module")
async def telegram() -> AsyncIterator[tuple[FakeTelegram, TelegramChannel]]:
    fake = FakeTelegram()
    await fake.start()
    channel = TelegramChannel(
        fake.token, api_url=fake.base_url, file_url=fake.base_file_url, poll_timeout=1
    )

    async def ignore(event: Any) -> None:
        return None

    await channel.start(ignore)
    fake.user_sends("hello", user_id=CITIZEN)  # the chat exists, as for any citizen we answer
    try:
        yield fake, channel
    finally:
        await channel.stop()
        await fake.stop()


labels = visible_hostile_text(flood=20).map(lambda s: s[:60])
buttons = st.lists(
    st.builds(Button, labels, st.sampled_from(["faq_helpful", "rate", "lang"]),
              st.sampled_from(["yes", "no", "5", "es"])),
    max_size=4,
)  # fmt: skip


@PROPS
@given(text=visible_hostile_text(flood=9000), keys=buttons)
@example(text=" " * 5000 + "x", keys=[])  # once an empty first message, refused by Telegram
@example(text="\n" * 9000 + "<b>" * 3000, keys=[])
@example(text="😀" * 4097, keys=[])
async def test_telegram_replies_are_literal_and_fit(
    telegram: tuple[FakeTelegram, TelegramChannel], text: str, keys: list[Button]
) -> None:
    fake, channel = telegram
    before = len(fake.sent)
    message_id = await channel.send(
        OutboundMessage(Address("telegram", str(CITIZEN)), text, tuple(keys))
    )
    sent = fake.sent[before:]
    assert sent and all(s["method"] == "sendMessage" for s in sent)
    assert str(sent[-1]["message_id"]) == message_id
    for part in sent:
        assert part["parse_mode"] is None  # the text is never parsed as markup
        assert 0 < len(part["text"]) <= 4096
        assert not {e["type"] for e in part["entities"]} & FORMATTING
    assert _content("".join(s["text"] for s in sent)) == _content(text)
    if keys:  # the keyboard goes under the last part, every label as given
        rows = sent[-1]["reply_markup"]["inline_keyboard"]
        assert [b["text"] for row in rows for b in row] == [k.label for k in keys]


# --- Slack: cards as Block Kit, notes in a card's thread ---------------------------------------

titles = visible_hostile_text(flood=300)
field_values = hostile_text(flood=3000).map(lambda s: s or "-")
cards = st.builds(
    Card,
    title=titles,
    text=hostile_text(flood=6000),
    fields=st.lists(st.builds(CardField, labels, field_values), max_size=12).map(tuple),
    sections=st.lists(st.tuples(labels, field_values), max_size=3).map(tuple),
    buttons=st.lists(
        st.builds(Button, st.sampled_from(["Claim", "Reply", "Resolve"]),
                  st.sampled_from(["case_claim", "case_reply", "case_resolve"]),
                  st.integers(1, 10**9).map(str)),
        max_size=3, unique_by=lambda b: b.action,
    ).map(tuple),
    selects=st.lists(
        st.builds(Select, st.just("Category"), st.just("case_recategorize"),
                  st.integers(1, 10**9), st.lists(st.tuples(labels, labels), max_size=5)
                  .map(tuple)),
        max_size=1,
    ).map(tuple),
    footer=hostile_text(flood=4000),
)  # fmt: skip


def _mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    texts += [f["text"] for b in blocks for f in b.get("fields", [])]
    texts += [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    return texts


@PROPS
@given(card=cards)
@example(card=Card(title="<!channel>", text="<" * 3000, footer="😀" * 3001))
def test_cards_are_valid_block_kit_with_the_citizens_text_escaped(card: Card) -> None:
    blocks = card_blocks(card)
    assert block_errors(blocks) == []
    header = blocks[0]["text"]["text"]
    assert blocks[0]["type"] == "header" and 0 < len(header) <= HEADER_LIMIT
    quote = blocks[1]["text"]["text"]  # the citizen's words: a quote, escaped
    assert quote.startswith(">") and _literal_mrkdwn(quote[1:]) and len(quote) <= SECTION_LIMIT
    for text in _mrkdwn_texts(blocks):
        assert len(text) <= SECTION_LIMIT
    for block in blocks:
        assert all(len(f["text"]) <= FIELD_LIMIT for f in block.get("fields", []))
        for element in block.get("elements", []):  # drop-down labels: Slack's 75
            assert all(len(o["text"]["text"]) <= 75 for o in element.get("options", []))
    if card.footer:  # app-made, but it may quote a label made of residents' words
        assert blocks[-1]["type"] == "context"
        assert _literal_mrkdwn(blocks[-1]["elements"][0]["text"].removesuffix("…"))
    fallback = card_fallback_text(card)  # what notifications show: no pings from it either
    assert len(fallback) <= 300 and _literal_mrkdwn(fallback)


class _Poster(SlackPosting):
    def __init__(self, fake: FakeSlack) -> None:
        from slack_sdk.web.async_client import AsyncWebClient

        self.client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        self.triage_channel = "C0TRIAGE01"


@pytest.fixture(scope="module")
async def slack() -> AsyncIterator[tuple[FakeSlack, _Poster, str]]:
    fake = FakeSlack()
    await fake.start()
    poster = _Poster(fake)
    card_ts = await poster.post_text("A case card")
    try:
        yield fake, poster, card_ts
    finally:
        await fake.stop()


@PROPS
@given(quoted=visible_hostile_text(flood=20_000), staff=st.sampled_from(["*Citizen:*", "Note"]))
@example(quoted="<!here>" * 6000, staff="*Citizen:*")  # 78,000 characters once escaped
@example(quoted="&" * 7999 + "<", staff="*Citizen:*")
async def test_notes_quote_the_citizen_literally_and_fit(
    slack: tuple[FakeSlack, _Poster, str], quoted: str, staff: str
) -> None:
    """`post_note(..., quoted=...)` is how a citizen's follow-up reaches the card's thread."""
    fake, poster, card_ts = slack
    ts = await poster.post_note("C0TRIAGE01", card_ts, staff, quoted=quoted)
    [note] = [m for m in fake.messages("C0TRIAGE01") if m.get("ts") == ts]
    text = note["text"]
    assert text.startswith(staff + " ") and len(text) <= 40_000
    shown = text[len(staff) + 1 :]
    assert _literal_mrkdwn(shown.removesuffix("…"))
    unescaped = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert quoted.startswith(unescaped.removesuffix("…"))


@PROPS
@given(card=cards)
async def test_the_fake_slack_accepts_every_card(
    slack: tuple[FakeSlack, _Poster, str], card: Card
) -> None:
    """The same cards through chat.postMessage and chat.update, as the outbox sends them."""
    _, poster, _ = slack
    channel, ts = await poster.post_card(card)
    await poster.update_card(channel, ts, card)


# --- X: a reply thread of posts ----------------------------------------------------------------


@settings(PROPS, max_examples=60)
@given(text=visible_hostile_text(flood=1200))
@example(text="😀" * 300)
@example(text="https://city.example/" + "a" * 3000 + " ok")
@example(text=" " * 2000 + "x")
def test_x_threads_fit_every_post_and_lose_only_blanks(text: str) -> None:
    posts = split_post(text)
    assert all(0 < weighted_length(post) <= MAX_POST_WEIGHT for post in posts)
    assert all(post == post.strip() and post for post in posts)
    assert _content("".join(posts)) == _content(text)
    has_personal_details(text)  # the DM rule reads any text, quickly


@settings(PROPS, max_examples=30)
@given(snippet=st.sampled_from(SNIPPETS), repeat=st.sampled_from([1, 70, 140, 141, 281]))
def test_x_threads_at_the_boundaries(snippet: str, repeat: int) -> None:
    text = (snippet + " ") * repeat
    if not text.strip():
        return
    posts = split_post(text)
    assert all(0 < weighted_length(post) <= MAX_POST_WEIGHT for post in posts)
    assert _content("".join(posts)) == _content(text)


# --- a reported bug, kept as a test ------------------------------------------------------------


def test_a_citizen_cannot_ping_staff_through_a_case_card() -> None:
    from responders.cards import case_card
    from responders.case_reads import CaseView
    from responders.models import Case

    case = Case(
        id=7, reference="TH-00007", citizen_id=1, conversation_id=1, opened_by_message_id=1,
        channel="telegram", address={}, summary="pothole", created_at=datetime.now(UTC),
    )  # fmt: skip
    view = CaseView(
        case=case, citizen_name="<!channel> Ana",
        recent_messages=[(datetime.now(UTC), "<!here> it is still there")], events=[],
    )  # fmt: skip
    for text in _mrkdwn_texts(card_blocks(case_card(view))):
        assert "<!channel>" not in text and "<!here>" not in text
