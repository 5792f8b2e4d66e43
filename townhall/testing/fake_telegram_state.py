"""State of the fake Telegram server and helpers shared by its Bot API methods.

Why a separate module: messages, chats, polls and callback queries are touched both by the Bot API
methods (what the bot does) and by the citizen helpers (what users do); one state class keeps
their bookkeeping (per-chat message ids, stored messages, what was sent) consistent.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

from townhall.testing.fake_telegram_markup import parse_formatted
from townhall.testing.fake_telegram_objects import (
    JSON,
    ApiError,
    Params,
    bad_request,
    make_chat,
    make_user,
    now,
)
from townhall.testing.telegram_spec import Spec

MAX_TEXT_LENGTH = 4096


class BotApiState:
    """Everything the fake remembers, and the helpers the Bot API methods share."""

    def __init__(self, token: str, bot_username: str, bot_first_name: str) -> None:
        self.token = token
        self.bot_username = bot_username
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456
        self.bot_user = make_user(bot_id, bot_first_name, is_bot=True, username=bot_username)
        self.calls: list[tuple[str, JSON]] = []
        self.sent: list[JSON] = []
        self.answered_callbacks: list[JSON] = []
        self.deleted: list[JSON] = []
        self.chat_actions: list[JSON] = []
        self.updates: list[JSON] = []
        self.files: dict[str, tuple[str, bytes]] = {}
        self._chats: dict[int, JSON] = {}
        # users who wrote in a group but never to the bot in private (see `_chat`)
        self.group_only_users: set[int] = set()
        self._messages: dict[tuple[int, int], JSON] = {}
        self._next_message_id: dict[int, int] = {}
        self._polls: dict[str, JSON] = {}  # poll_id -> {"poll", "chat_id", "message_id", "votes"}
        self._open_callbacks: set[str] = set()
        self._commands: dict[str, list[JSON]] = {}
        self._webhook: JSON | None = None
        # One future per waiter, resolved on every change: unlike a shared asyncio.Event that
        # waiters clear, no waiter can lose a wake-up meant for another.
        self._waiters: set[asyncio.Future[None]] = set()
        self._seq = {"update": 0, "poll": 0, "callback": 0, "file": 0}
        self._spec: Spec | None = None
        self.spec_violations: list[str] = []
        self.errors: list[BaseException] = []
        # called as observer(kind, record) the moment something happens, for timing it:
        # "update" when a citizen's Update is queued for delivery (getUpdates or webhook),
        # "sent" when a message the bot sent or edited is recorded in `sent`
        self.observers: list[Callable[[str, JSON], None]] = []

    # -- hooks implemented by the server class -------------------------------------------------
    def _webhook_changed(self, drop_pending: bool) -> None:
        raise NotImplementedError

    def _pending_count(self) -> int:
        raise NotImplementedError

    async def _get_updates(self, p: Params) -> list[JSON]:
        raise NotImplementedError

    def _enqueue(self, update: JSON, *, one_shot: bool = False) -> None:
        raise NotImplementedError

    # -- shared helpers ------------------------------------------------------------------------
    def _changed(self) -> None:
        """Wake everything waiting for a state change (long polls, wait_for_sent...)."""
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _observe(self, kind: str, record: JSON) -> None:
        """Tell every observer; an observer's error is kept in `errors`, never raised here."""
        for observer in self.observers:
            try:
                observer(kind, record)
            except Exception as exc:
                self.errors.append(exc)

    def _next(self, counter: str) -> int:
        self._seq[counter] += 1
        return self._seq[counter]

    def _chat(self, chat_id: int | str) -> JSON:
        """Known chat, or a plausible one for any integer id (private if positive). A user seen
        only in groups has not started the bot, and Telegram forbids bots to start that chat."""
        if isinstance(chat_id, str):
            for chat in self._chats.values():
                if chat.get("username") and f"@{chat['username']}" == chat_id:
                    return chat
            raise bad_request("chat not found")
        if chat_id not in self._chats:
            if chat_id > 0 and chat_id in self.group_only_users:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            if chat_id > 0:
                self._chats[chat_id] = make_chat(chat_id, "private", first_name=f"User {chat_id}")
            else:
                kind = "supergroup" if str(chat_id).startswith("-100") else "group"
                self._chats[chat_id] = make_chat(chat_id, kind, title=f"Chat {chat_id}")
        return self._chats[chat_id]

    def _target_chat(self, p: Params) -> JSON:
        raw = p.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise bad_request("invalid chat_id specified")
        return self._chat(raw)

    def _new_message(self, chat: JSON, sender: JSON | None, **content: Any) -> JSON:
        """Store a new message in ``chat`` with the next per-chat message id."""
        message_id = self._next_message_id.get(chat["id"], 0) + 1
        self._next_message_id[chat["id"]] = message_id
        message: JSON = {"message_id": message_id}
        if sender is not None:
            message["from"] = sender
        message.update(date=now(), chat=chat)
        message.update({k: v for k, v in content.items() if v is not None and v != []})
        self._messages[(chat["id"], message_id)] = message
        return message

    def _stored(self, p: Params, not_found: str) -> JSON:
        chat = self._target_chat(p)
        message_id = p.get_int(
            "message_id", required=True, missing="message identifier is not specified"
        )
        message = self._messages.get((chat["id"], message_id or 0))
        if message is None:
            raise bad_request(not_found)
        return message

    def _record_sent(self, method: str, message: JSON, p: Params, **extra: Any) -> None:
        """Remember a delivered/edited message for assertions (only after success)."""
        record: JSON = {
            "method": method,
            "chat_id": message["chat"]["id"],
            "message_id": message["message_id"],
            "text": message.get("text"),
            "raw_text": p.get("text"),
            "parse_mode": p.get("parse_mode"),
            "entities": copy.deepcopy(message.get("entities", [])),
            "reply_markup": copy.deepcopy(p.get("reply_markup")),
            "reply_to_message_id": message.get("reply_to_message", {}).get("message_id"),
            "message_thread_id": message.get("message_thread_id"),
            "date": message.get("edit_date", message["date"]),
            "message": copy.deepcopy(message),
            "params": dict(p.data),
        }
        record.update(extra)
        self.sent.append(record)
        self._observe("sent", record)
        self._changed()

    def _reply_target(self, p: Params, chat: JSON) -> JSON | None:
        params = p.get("reply_parameters")
        if params is None and p.has("reply_to_message_id"):
            params = {"message_id": p.get("reply_to_message_id")}
            params["allow_sending_without_reply"] = p.get_bool("allow_sending_without_reply")
        if params is None:
            return None
        if not isinstance(params, dict) or not isinstance(params.get("message_id"), int):
            raise bad_request("invalid reply parameters specified")
        target_chat = self._chat(params.get("chat_id", chat["id"]))
        target = self._messages.get((target_chat["id"], params["message_id"]))
        if target is None:
            if params.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return {k: v for k, v in target.items() if k != "reply_to_message"}

    def _format(self, p: Params, field: str = "text") -> tuple[str, list[JSON]]:
        text = p.get_str(field)
        if not text or not text.strip():
            raise bad_request("message text is empty")
        plain, entities = parse_formatted(text, p.get_str("parse_mode"), p.get_list("entities"))
        if len(plain) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        return plain, entities

    def _own_message(self, p: Params, not_found: str) -> JSON:
        message = self._stored(p, not_found)
        if message.get("from", {}).get("id") != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        return message


def set_optional(obj: JSON, key: str, value: Any) -> None:
    """Set an optional field, or remove it when ``value`` is None (absent, not null)."""
    if value is None:
        obj.pop(key, None)
    else:
        obj[key] = value
