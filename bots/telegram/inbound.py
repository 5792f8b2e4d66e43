"""Telegram updates into domain events: `to_inbound` is a pure function of a PTB `Update`.

A group message is listened to unless it is addressed to the bot; a photo or a location becomes
an `Attachment` kept by reference; a reply to one of the bot's messages names it in
`reply_to_id`, so that a reply to a resolution message can reopen its case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from telegram import CallbackQuery, Message, MessageEntity, Update
from telegram.constants import ChatType

from bots.checks import MalformedEvent, check_event
from townhall.domain import (
    Address,
    Attachment,
    ButtonPress,
    InboundEvent,
    InboundMessage,
    PollAnswer,
    Sender,
)

CHANNEL = "telegram"
NAME_LIMIT = 64


def _sender(user) -> Sender:
    # Telegram caps each name at 64 characters; a longer one is cut, not a reason to drop
    # the citizen's message (and the stored display name has room for both parts)
    parts = (user.first_name, user.last_name)
    name = " ".join(part[:NAME_LIMIT] for part in parts if part)
    return Sender(str(user.id), name, user.language_code)


def _button_press(query: CallbackQuery) -> ButtonPress | None:
    message = query.message
    if message is None or not query.data:
        return None
    action, _, value = query.data.partition(":")
    return ButtonPress(
        channel=CHANNEL,
        external_id=f"callback:{query.id}",
        address=Address(CHANNEL, str(message.chat.id)),
        sender=_sender(query.from_user),
        action=action,
        value=value,
        sent_at=message.date,
    )


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot is, to tell whether a group message is addressed to it."""

    id: int
    username: str


def _entities(message: Message) -> dict[MessageEntity, str]:
    """The text's entities, or the caption's: a photo addresses the bot through its caption."""
    if message.text is not None:
        return message.parse_entities()
    return message.parse_caption_entities()


def _addressed_to(message: Message, me: BotIdentity | None) -> bool:
    """In a group, the bot answers a command, a mention of it, or a reply to one of its posts."""
    if me is None:
        return False
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == me.id:
        return True
    for entity, text in _entities(message).items():
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            target = text.partition("@")[2]
            return not target or target.lower() == me.username.lower()
        if entity.type == MessageEntity.MENTION and text[1:].lower() == me.username.lower():
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == me.id:
            return True
    return False


def _without_mention(text: str, me: BotIdentity | None) -> str:
    if me is None:
        return text
    return re.sub(rf"@{re.escape(me.username)}\b", "", text, flags=re.IGNORECASE).strip()


def _attachments(message: Message) -> tuple[Attachment, ...]:
    """What the citizen shared besides text, by reference only: downloading a photo is the
    caller's decision (`TelegramChannel.fetch_file`), not something every update pays for."""
    found: list[Attachment] = []
    if message.photo:
        # Telegram sends several sizes of one photo; the largest is the one worth keeping
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        found.append(Attachment("photo", ref=largest.file_id, size=largest.file_size or 0))
    if message.location is not None:
        found.append(
            Attachment(
                "location",
                latitude=message.location.latitude,
                longitude=message.location.longitude,
            )
        )
    return tuple(found)


def _reply_to_bot(message: Message, me: BotIdentity | None) -> str | None:
    """The id of the bot's message this one answers, so a reply to a case update can find its
    case; replies to other people's messages are conversation, not answers to us."""
    replied = message.reply_to_message
    author = replied.from_user if replied is not None else None
    if replied is None or author is None or not author.is_bot:
        return None
    if me is not None and author.id != me.id:
        return None  # another bot in the group
    return str(replied.message_id)


def _event_of(update: Update, me: BotIdentity | None) -> InboundEvent | None:
    """The domain event for a Telegram update, or None for updates we do not handle.

    A group message is listened to (stored and classified) unless it is addressed to the bot
    (`me`); then it is answered in the group, and private matters go to the sender's own chat.
    Photos and locations become attachments only when the message is private or addressed to
    the bot: a bystander's photo in a group is not ours to collect, so listening keeps only
    its caption, as for any other group chatter.
    """
    if update.callback_query is not None:
        return _button_press(update.callback_query)
    answer = update.poll_answer
    if answer is not None and answer.user is not None:
        return PollAnswer(
            channel=CHANNEL,
            external_id=f"poll_answer:{update.update_id}",
            address=Address(CHANNEL, str(answer.user.id)),
            sender=_sender(answer.user),
            poll_id=answer.poll_id,
            option_ids=tuple(answer.option_ids),
            sent_at=datetime.now(UTC),
        )
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    text = message.text or message.caption or ""
    private = message.chat.type == ChatType.PRIVATE
    addressed = private or _addressed_to(message, me)
    attachments = _attachments(message) if addressed else ()
    if not text.strip() and not attachments:
        return None
    command, args = None, text
    entities = message.entities or message.caption_entities or ()
    if entities and entities[0].type == MessageEntity.BOT_COMMAND and entities[0].offset == 0:
        word = text[: entities[0].length]
        command = word[1:].split("@", 1)[0].lower()
        args = text[entities[0].length :].strip()
    thread = str(message.message_thread_id) if message.is_topic_message else None
    if not private and addressed and command is None:
        text = _without_mention(text, me) or text
    return InboundMessage(
        channel=CHANNEL,
        external_id=f"{message.chat.id}:{message.message_id}",
        address=Address(CHANNEL, str(message.chat.id), thread, str(message.message_id)),
        sender=_sender(message.from_user),
        text=text,
        sent_at=message.date,
        command=command,
        args=args if command else "",
        is_private=private,
        listen_only=not addressed,
        # Telegram: a user's private chat with the bot has the user's id
        private_address=None if private else Address(CHANNEL, str(message.from_user.id)),
        attachments=attachments,
        reply_to_id=_reply_to_bot(message, me),
    )


def to_inbound(update: Update, me: BotIdentity | None = None) -> InboundEvent | None:
    """The domain event for a Telegram update, or None for updates we do not handle.

    Raises `MalformedEvent` when the update cannot be read or the event it gives is not well
    typed (bots/checks.py): such an update is refused whole, never half-handled. See
    `_event_of` for what becomes of each kind of update.
    """
    if not isinstance(update, Update):
        raise MalformedEvent(f"not an update: {type(update).__name__}")
    try:
        event = _event_of(update, me)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        raise MalformedEvent(f"unreadable update: {exc!r:.200}") from exc
    if event is not None:
        check_event(event)
    return event
