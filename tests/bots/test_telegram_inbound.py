"""`to_inbound` turns real Telegram update payloads into domain events, and nothing else."""

from telegram import Bot, Update

from bots.telegram import BotIdentity, split_text, to_inbound
from townhall.domain import ButtonPress, InboundMessage, PollAnswer

BOT = Bot("123456:TEST-TOKEN")
USER = {
    "id": 1001, "is_bot": False, "first_name": "Ana", "last_name": "Ruiz", "language_code": "es"
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


def test_button_press() -> None:
    query = {
        "id": "cb-1", "from": USER, "chat_instance": "ci", "data": "faq_helpful:yes",
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
        _update(message=_group_message("/status", [{"type": "bot_command", "offset": 0,
                                                    "length": 7}])), ME,
    )
    assert isinstance(ours, InboundMessage) and not ours.listen_only and ours.command == "status"


def test_group_reply_to_the_bot_is_addressed() -> None:
    bot_post = {"message_id": 40, "date": 1764500000, "chat": GROUP, "text": "Trash is on Monday",
                "from": {"id": 999, "is_bot": True, "first_name": "Townhall"}}
    event = to_inbound(
        _update(message=_group_message("and recycling?", reply_to_message=bot_post)), ME
    )
    assert isinstance(event, InboundMessage) and not event.listen_only
