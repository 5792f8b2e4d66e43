"""From X posts to domain events: pure functions, no SDK calls, no I/O.

`to_inbound` accepts what tweepy gives (a `Tweet` and the response's `includes`) or the same as
plain JSON dicts, so it parses recorded real payloads as well as live ones. X's v2 `text` is
HTML-escaped (`&amp;`, `&lt;`, `&gt;`) and starts with the @handles a reply is addressed to;
both are undone here so classifiers and responders see what the citizen wrote.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bots.checks import MalformedEvent, check_event
from townhall.domain import Address, ButtonPress, InboundMessage, Sender

CHANNEL = "x"
# ms since the Unix epoch at which X's snowflake ids start counting
SNOWFLAKE_EPOCH_MS = 1_288_834_974_657
_LEADING_MENTIONS = re.compile(r"^(?:\.?@\w{1,15}[\s,:]*)+")
_COMMAND = re.compile(r"^/([A-Za-z][\w]{0,31})(?:@\w+)?(?:\s+|$)")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
# X's lang values that are not languages: undetermined, media/hashtag/link-only, no text
_NOT_LANGUAGES = {"und", "qam", "qct", "qht", "qme", "qst", "zxx"}


def _data(obj: Any) -> dict[str, Any]:
    """The raw JSON of a tweepy model (`.data`) or a plain dict."""
    data = getattr(obj, "data", obj)
    return data if isinstance(data, dict) else {}


def snowflake_time(post_id: int | str) -> datetime:
    """When a post was created, read from its id (for payloads without `created_at`)."""
    milliseconds = (int(post_id) >> 22) + SNOWFLAKE_EPOCH_MS
    return datetime.fromtimestamp(milliseconds / 1000, UTC)


def unescape(text: str) -> str:
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


def body_of(text: str) -> str:
    """The post without the @handles it starts with (the reply prefix)."""
    return _LEADING_MENTIONS.sub("", unescape(text), count=1).strip()


def _items(value: Any) -> list[Any]:
    """A JSON array, or nothing: a field of another type is read as absent."""
    return list(value) if isinstance(value, list | tuple) else []


def users_by_id(includes: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    users = _items(includes.get("users")) if isinstance(includes, Mapping) else []
    return {str(_data(user).get("id")): _data(user) for user in users}


def replied_to(post: Any) -> str | None:
    """The id of the post this one answers, if it is a reply."""
    for ref in _items(_data(post).get("referenced_tweets")):
        if _data(ref).get("type") == "replied_to" and _data(ref).get("id"):
            return str(_data(ref)["id"])
    return None


def is_retweet(post: Any) -> bool:
    refs = _items(_data(post).get("referenced_tweets"))
    return any(_data(ref).get("type") == "retweeted" for ref in refs)


def mentions_user(post: Any, username: str) -> bool:
    entities = _data(_data(post).get("entities"))
    mentions = _items(entities.get("mentions"))
    return any(str(_data(m).get("username", "")).lower() == username.lower() for m in mentions)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _sender(data: dict[str, Any], users: dict[str, dict[str, Any]]) -> Sender:
    author = str(data.get("author_id") or "")
    user = users.get(author, {})
    name, username = _str(user.get("name")), _str(user.get("username"))
    display = (
        f"{name} (@{username})"
        if name and username
        else name or (f"@{username}" if username else "")
    )
    lang = data.get("lang")
    language = lang if isinstance(lang, str) and lang not in _NOT_LANGUAGES else None
    return Sender(author, display, language)


def _address(data: dict[str, Any]) -> Address:
    """Replies go under the post (`reply_to`); `chat_id` is the author, for a DM instead."""
    conversation = data.get("conversation_id")
    return Address(
        CHANNEL,
        str(data.get("author_id") or ""),
        str(conversation) if conversation else None,
        str(data["id"]),
    )


def _sent_at(data: dict[str, Any]) -> datetime:
    created = data.get("created_at")
    if isinstance(created, datetime):
        return created
    if isinstance(created, str):
        return datetime.fromisoformat(created.replace("Z", "+00:00"))
    return snowflake_time(data["id"])


def to_inbound(
    tweet: Any, includes: Mapping[str, Any] | None = None, *, listen_only: bool = False
) -> InboundMessage | None:
    """The domain message for a post, or None for retweets and posts with no text left.

    Raises `MalformedEvent` for a post X would not send (an id that is not a number, a
    date that is not one, a field of the wrong type), so the channel can skip it instead of
    failing on it at every poll.
    """
    try:
        event = _message_of(tweet, includes, listen_only)
    except (AttributeError, TypeError, ValueError, KeyError, OverflowError, OSError) as exc:
        raise MalformedEvent(f"unreadable post: {exc!r:.200}") from exc
    if event is not None:
        check_event(event, anonymous_sender=True)
    return event


def _message_of(
    tweet: Any, includes: Mapping[str, Any] | None, listen_only: bool
) -> InboundMessage | None:
    """`to_inbound` without the checks.

    A mention (`listen_only=False`) may be a `/command`; a listened post never is. A mention
    that is a reply carries the post it answers as `reply_to_id`, so an answer to one of our
    case updates finds its case; a listened post is never addressed to us (the channel leaves
    those to the mentions poll), so what it replies to is someone else's post, not ours.
    """
    data = _data(tweet)
    if not data.get("id") or is_retweet(data):
        return None
    text = body_of(str(data.get("text") or ""))
    if not text:
        return None
    command, args = None, ""
    match = _COMMAND.match(text) if not listen_only else None
    if match:
        command, args = match.group(1).lower(), text[match.end() :].strip()
    return InboundMessage(
        channel=CHANNEL,
        external_id=str(data["id"]),
        address=_address(data),
        sender=_sender(data, users_by_id(includes)),
        text=text,
        sent_at=_sent_at(data),
        command=command,
        args=args,
        is_private=False,
        listen_only=listen_only,
        reply_to_id=None if listen_only else replied_to(data),
    )


def to_button_press(
    message: InboundMessage, options: list[tuple[str, str, str]]
) -> ButtonPress | None:
    """A reply to one of our posts with options (`1) English`), answered by number or label.

    `options` are the (label, action, value) of the buttons listed under that post.
    """
    answer = message.text.strip().rstrip(".!").strip().lower()
    for number, (label, action, value) in enumerate(options, start=1):
        if answer in (str(number), label.lower()):
            return ButtonPress(
                channel=CHANNEL,
                external_id=message.external_id,
                address=message.address,
                sender=message.sender,
                action=action,
                value=value,
                sent_at=message.sent_at,
            )
    return None
