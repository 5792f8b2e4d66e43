"""Is an inbound event well typed? Checked by each citizen channel before it hands an event on.

Why: the SDKs decode JSON without checking types (python-telegram-bot keeps whatever a field
holds; X posts are read as plain dicts), so a payload no platform would send, with a number
where text belongs or an id that is a 10 kB string, used to surface deep in storage as a crash,
a 500 and, on PostgreSQL, a refused insert. Checking the domain event once, at the edge, turns
all of that into one clear refusal (`MalformedEvent`: the webhook answers 400, a poll skips
the post) before anything is stored.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from townhall.domain import ButtonPress, InboundEvent, PollAnswer

# what the store keeps of an event id (`messages.external_id`); real ones are far shorter
EXTERNAL_ID_LIMIT = 128
# platform ids (Telegram chats, users and messages; X users and posts) are decimal integers
NUMERIC_ID = re.compile(r"-?\d{1,20}")


class MalformedEvent(ValueError):
    """An update or post the platform would not send: a field of the wrong type, an id that is
    not a number, text with NUL characters or lone surrogates (which no database stores)."""


def check_text(value: object, what: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise MalformedEvent(f"{what} is a {type(value).__name__}, not text")
    if "\x00" in value:
        raise MalformedEvent(f"{what} has a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedEvent(f"{what} is not valid Unicode") from exc


def check_id(value: object, what: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not NUMERIC_ID.fullmatch(value):
        raise MalformedEvent(f"{what} is not an id: {value!r:.40}")


def _check_number(value: object, what: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedEvent(f"{what} is not a number: {value!r:.40}")


def check_event(event: InboundEvent, *, anonymous_sender: bool = False) -> None:
    """Raise `MalformedEvent` unless every field of `event` has the type the domain promises.

    `anonymous_sender` allows an empty user id (an X post read without its author).
    """
    address = event.address
    if not (anonymous_sender and address.chat_id == ""):
        check_id(address.chat_id, "chat id")
    check_id(address.thread_id, "thread id", optional=True)
    check_id(address.reply_to, "message id", optional=True)
    if not (anonymous_sender and event.sender.user_id == ""):
        check_id(event.sender.user_id, "user id")
    check_text(event.sender.display_name, "name")
    check_text(event.sender.language_code, "language code", optional=True)
    check_text(event.external_id, "event id")
    if len(event.external_id) > EXTERNAL_ID_LIMIT:
        raise MalformedEvent("event id is too long")
    if not isinstance(event.sent_at, datetime):
        raise MalformedEvent("the date is missing")
    if isinstance(event, ButtonPress):
        check_text(event.action, "button data")
        check_text(event.value, "button data")
    elif isinstance(event, PollAnswer):
        check_text(event.poll_id, "poll id")
        for option in event.option_ids:
            if isinstance(option, bool) or not isinstance(option, int) or option < 0:
                raise MalformedEvent(f"poll option is not an index: {option!r:.40}")
    else:
        check_text(event.text, "text")
        check_text(event.args, "arguments")
        check_text(event.command, "command", optional=True)
        check_id(event.reply_to_id, "replied-to id", optional=True)
        if event.private_address is not None:
            check_id(event.private_address.chat_id, "private chat id")
        for attachment in event.attachments:
            check_text(attachment.ref, "file id")
            if isinstance(attachment.size, bool) or not isinstance(attachment.size, int):
                raise MalformedEvent(f"file size is not a number: {attachment.size!r:.40}")
            _check_number(attachment.latitude, "latitude", optional=True)
            _check_number(attachment.longitude, "longitude", optional=True)
