"""`to_inbound` turns real Telegram update payloads into domain events, and nothing else;
at the end, what the channel does with photos and buttons through the real SDK and the fake."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, File, Update

from bots.telegram import BotIdentity, TelegramChannel, split_text, to_inbound
from townhall.domain import (
    Address,
    Attachment,
    Button,
    ButtonPress,
    InboundEvent,
    InboundMessage,
    OutboundMessage,
    PollAnswer,
    SendError,
)
from townhall.testing.fake_telegram import FakeTelegram

BOT = Bot("123456:TEST-TOKEN")
USER = {
    "id": 1001,
    "is_bot": False,
    "first_name": "Ana",
    "last_name": "Ruiz",
    "language_code": "es",
}
CHAT = {"id": 1001, "type": "private", "first_name": "Ana"}


def _update(**fields) -> Update:
    return Update.de_json({"update_id": 7, **fields}, BOT)


def _message(text: str, **extra) -> dict:
    return {"message_id": 55, "date": 1764500000, "chat": CHAT, "from": USER, "text": text, **extra}


def test_text_message() -> None:
    event = to_inbound(_update(message=_message("Where do I pay my water bill?")))
    assert isinstance(event, InboundMessage)
    assert event.external_id == "1001:55"
    assert event.address.channel == "telegram" and event.address.chat_id == "1001"
    assert event.sender.display_name == "Ana Ruiz" and event.sender.language_code == "es"
    assert event.command is None and event.is_private


def test_command_with_bot_name_and_arguments() -> None:
    entities = [{"type": "bot_command", "offset": 0, "length": 20}]
    message = _message("/status@townhall_bot TH-00012", entities=entities)
    event = to_inbound(_update(message=message))
    assert isinstance(event, InboundMessage)
    assert event.command == "status" and event.args == "TH-00012"


def test_photo_caption_is_the_text() -> None:
    photo = [{"file_id": "f1", "file_unique_id": "u1", "width": 90, "height": 90}]
    message = _message("", photo=photo, caption="Broken bench in the park")
    del message["text"]
    event = to_inbound(_update(message=message))
    assert isinstance(event, InboundMessage) and event.text == "Broken bench in the park"
    assert event.attachments == (Attachment("photo", ref="f1", size=0),)  # no file_size given


def test_button_press() -> None:
    query = {
        "id": "cb-1",
        "from": USER,
        "chat_instance": "ci",
        "data": "faq_helpful:yes",
        "message": _message("Was this helpful?", **{"from": {**USER, "id": 42, "is_bot": True}}),
    }
    event = to_inbound(_update(callback_query=query))
    assert isinstance(event, ButtonPress)
    assert (event.action, event.value, event.external_id) == ("faq_helpful", "yes", "callback:cb-1")


def test_poll_answer() -> None:
    answer = {"poll_id": "p-9", "user": USER, "option_ids": [2], "option_persistent_ids": ["c"]}
    event = to_inbound(_update(poll_answer=answer))
    assert isinstance(event, PollAnswer)
    assert (event.poll_id, event.option_ids, event.external_id) == ("p-9", (2,), "poll_answer:7")
    assert event.address.chat_id == "1001"


def test_updates_we_do_not_handle() -> None:
    assert to_inbound(_update(message=_message("   "))) is None
    bot_message = _message("hi", **{"from": {**USER, "is_bot": True}})
    assert to_inbound(_update(message=bot_message)) is None
    assert to_inbound(_update(edited_message=_message("edited"))) is None


def test_long_text_is_split_at_paragraphs() -> None:
    text = ("A" * 3000) + "\n\n" + ("B" * 3000)
    parts = split_text(text)
    assert parts == ["A" * 3000, "B" * 3000]
    assert all(len(p) <= 4096 for p in split_text("x" * 10000))
    assert "".join(split_text("x" * 10000)) == "x" * 10000


GROUP = {"id": -100777, "type": "supergroup", "title": "Elm Street neighbours"}
ME = BotIdentity(999, "townhall_bot")


def _group_message(text: str, entities: list[dict] | None = None, **extra) -> dict:
    return _message(text, chat=GROUP, entities=entities or [], **extra)


def test_group_chatter_is_listen_only_with_a_private_address() -> None:
    event = to_inbound(_update(message=_group_message("lovely day in the park")), ME)
    assert isinstance(event, InboundMessage)
    assert event.listen_only and not event.is_private
    assert event.private_address is not None and event.private_address.chat_id == "1001"


def test_group_mention_of_the_bot_is_addressed_and_the_mention_dropped() -> None:
    mention = [{"type": "mention", "offset": 0, "length": 13}]
    event = to_inbound(_update(message=_group_message("@Townhall_Bot trash day?", mention)), ME)
    assert isinstance(event, InboundMessage)
    assert not event.listen_only and event.text == "trash day?"


def test_group_commands_for_another_bot_and_mentions_of_others_are_not_ours() -> None:
    other_command = [{"type": "bot_command", "offset": 0, "length": 16}]
    other_mention = [{"type": "mention", "offset": 0, "length": 6}]
    cases = (("/status@otherbot", other_command), ("@alice trash day?", other_mention))
    for text, entities in cases:
        event = to_inbound(_update(message=_group_message(text, entities)), ME)
        assert isinstance(event, InboundMessage) and event.listen_only, text
    ours = to_inbound(
        _update(
            message=_group_message("/status", [{"type": "bot_command", "offset": 0, "length": 7}])
        ),
        ME,
    )
    assert isinstance(ours, InboundMessage) and not ours.listen_only and ours.command == "status"


def test_group_reply_to_the_bot_is_addressed() -> None:
    bot_post = {
        "message_id": 40,
        "date": 1764500000,
        "chat": GROUP,
        "text": "Trash is on Monday",
        "from": {"id": 999, "is_bot": True, "first_name": "Townhall"},
    }
    event = to_inbound(
        _update(message=_group_message("and recycling?", reply_to_message=bot_post)), ME
    )
    assert isinstance(event, InboundMessage) and not event.listen_only


# --- photos, locations and replies, as the fake Telegram's citizens send them -----------------
# An unstarted FakeTelegram builds the exact Updates the Bot API delivers, without a server.


def _fake_update(payload: dict) -> Update:
    return Update.de_json(payload, BOT)


def _me(fake: FakeTelegram) -> BotIdentity:
    return BotIdentity(fake.bot_user["id"], fake.bot_username)


def test_a_photo_without_caption_keeps_the_largest_size() -> None:
    fake = FakeTelegram()
    payload = fake.user_sends_photo(width=1280, height=960)
    event = to_inbound(_fake_update(payload), _me(fake))
    assert isinstance(event, InboundMessage) and event.text == ""
    largest = payload["message"]["photo"][-1]
    assert largest["width"] == 1280 and len(payload["message"]["photo"]) == 4
    assert event.attachments == (
        Attachment("photo", ref=largest["file_id"], size=largest["file_size"]),
    )
    assert event.reply_to_id is None and not event.listen_only


def test_a_photo_with_a_caption_keeps_both() -> None:
    fake = FakeTelegram()
    payload = fake.user_sends_photo(caption="/report Broken bench", width=640, height=480)
    event = to_inbound(_fake_update(payload), _me(fake))
    assert isinstance(event, InboundMessage)
    assert (event.command, event.args) == ("report", "Broken bench")  # caption entities count
    [photo] = event.attachments
    assert photo.kind == "photo" and photo.ref == payload["message"]["photo"][-1]["file_id"]


def test_a_location_pin() -> None:
    fake = FakeTelegram()
    event = to_inbound(_fake_update(fake.user_sends_location(39.7817, -89.6501)), _me(fake))
    assert isinstance(event, InboundMessage) and event.text == ""
    assert event.attachments == (Attachment("location", latitude=39.7817, longitude=-89.6501),)


async def test_a_reply_to_the_bot_names_the_bots_message() -> None:
    fake = FakeTelegram()
    fake.user_sends("I reported a pothole")
    asked = await fake.call_method("sendMessage", {"chat_id": 1001, "text": "Where is it?"})
    payload = fake.user_sends_location(39.78, -89.65, reply_to_message_id=asked["message_id"])
    event = to_inbound(_fake_update(payload), _me(fake))
    assert isinstance(event, InboundMessage) and event.attachments
    assert event.reply_to_id == str(asked["message_id"])
    # without knowing who the bot is, any bot author counts: a private chat has only ours
    anonymous = to_inbound(_fake_update(payload))
    assert isinstance(anonymous, InboundMessage)
    assert anonymous.reply_to_id == str(asked["message_id"])
    own = fake.user_sends("it is on Elm", reply_to_message_id=payload["message"]["message_id"])
    event = to_inbound(_fake_update(own), _me(fake))
    assert isinstance(event, InboundMessage) and event.reply_to_id is None


async def test_group_replies_to_the_bot_and_to_another_citizen() -> None:
    fake = FakeTelegram()
    group = {"chat_id": -100777, "chat_type": "supergroup"}
    neighbour = fake.user_sends("The bench is broken again", user_id=2002, **group)
    posted = await fake.call_method("sendMessage", {"chat_id": -100777, "text": "Send a photo"})
    to_bot = fake.user_sends_photo(reply_to_message_id=posted["message_id"], **group)
    event = to_inbound(_fake_update(to_bot), _me(fake))
    assert isinstance(event, InboundMessage) and not event.listen_only
    assert event.reply_to_id == str(posted["message_id"]) and event.attachments
    to_neighbour = fake.user_sends(
        "so it is", reply_to_message_id=neighbour["message"]["message_id"], **group
    )
    event = to_inbound(_fake_update(to_neighbour), _me(fake))
    assert isinstance(event, InboundMessage) and event.listen_only
    assert event.reply_to_id is None


def test_a_reply_to_another_bot_is_not_a_reply_to_us() -> None:
    other_bot = {"message_id": 40, "date": 1764500000, "chat": GROUP, "text": "Quiz time",
                 "from": {"id": 555, "is_bot": True, "first_name": "Quizzer"}}  # fmt: skip
    message = _group_message("3", reply_to_message=other_bot)
    event = to_inbound(_update(message=message), ME)
    assert isinstance(event, InboundMessage) and event.listen_only and event.reply_to_id is None


def test_a_group_photo_not_addressed_to_the_bot_is_only_listened_to() -> None:
    fake = FakeTelegram()
    group = {"chat_id": -100777, "chat_type": "supergroup"}
    captioned = fake.user_sends_photo(caption="sunset over the lake", **group)
    event = to_inbound(_fake_update(captioned), _me(fake))
    assert isinstance(event, InboundMessage) and event.listen_only
    assert event.text == "sunset over the lake" and event.attachments == ()
    assert to_inbound(_fake_update(fake.user_sends_photo(**group)), _me(fake)) is None
    mention = f"@{fake.bot_username} broken bench"
    addressed = to_inbound(_fake_update(fake.user_sends_photo(caption=mention, **group)), _me(fake))
    assert isinstance(addressed, InboundMessage) and not addressed.listen_only
    assert addressed.text == "broken bench" and addressed.attachments


# --- the channel through the real SDK against the fake ---------------------------------------


class _Inbox:
    def __init__(self) -> None:
        self.events: list[InboundEvent] = []

    async def __call__(self, event: InboundEvent) -> None:
        self.events.append(event)


@pytest.fixture
async def running() -> AsyncIterator[tuple[FakeTelegram, TelegramChannel, _Inbox]]:
    async with FakeTelegram() as fake:
        channel = TelegramChannel(
            fake.token, api_url=fake.base_url, file_url=fake.base_file_url, poll_timeout=1
        )
        inbox = _Inbox()
        await channel.start(inbox)
        try:
            yield fake, channel, inbox
        finally:
            await channel.stop()


async def _must_not_download(*args: object, **kwargs: object) -> bytearray:
    raise AssertionError("the file was downloaded")


async def _wait_for(inbox: _Inbox, count: int) -> list[InboundEvent]:
    for _ in range(500):
        if len(inbox.events) >= count:
            return inbox.events
        await asyncio.sleep(0.01)
    raise TimeoutError(f"expected {count} events, got {inbox.events}")


async def test_fetch_file_downloads_a_citizens_photo(
    running, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, channel, inbox = running
    fake.user_sends_photo(caption="broken bench", content=b"JPEG-BYTES" * 10)
    fake.user_sends_location(39.78, -89.65)
    photo_event, location_event = await _wait_for(inbox, 2)  # the handler lets both through
    assert isinstance(location_event, InboundMessage) and location_event.attachments
    assert isinstance(photo_event, InboundMessage)
    [photo] = photo_event.attachments
    assert await channel.fetch_file(photo.ref, max_bytes=100) == b"JPEG-BYTES" * 10
    with monkeypatch.context() as patched:  # refused on getFile's size, before any download
        patched.setattr(File, "download_as_bytearray", _must_not_download)
        with pytest.raises(SendError) as too_big:
            await channel.fetch_file(photo.ref, max_bytes=99)
    assert too_big.value.permanent
    with pytest.raises(SendError) as unknown:
        await channel.fetch_file("AgACnope", max_bytes=100)
    assert unknown.value.permanent
    fake.fail_next("getFile", status=502)
    with pytest.raises(SendError) as outage:
        await channel.fetch_file(photo.ref, max_bytes=100)
    assert not outage.value.permanent


async def test_short_buttons_share_one_row_and_long_ones_stack(running) -> None:
    fake, channel, _ = running
    fake.user_sends("hello")
    address = Address("telegram", "1001")
    rating = tuple(Button(str(n), "rate", str(n)) for n in range(1, 6))
    await channel.send(OutboundMessage(address, "How did we do?", rating))
    rows = fake.sent[-1]["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in rows] == [["1", "2", "3", "4", "5"]]
    assert rows[0][4]["callback_data"] == "rate:5"
    choices = (Button("Yes", "faq_helpful", "yes"), Button("Not really", "faq_helpful", "no"))
    await channel.send(OutboundMessage(address, "Was this helpful?", choices))
    rows = fake.sent[-1]["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in rows] == [["Yes"], ["Not really"]]
