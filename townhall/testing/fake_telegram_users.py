"""Citizen-side actions for the fake Telegram server: what real users would do in the app.

Why: tests and ``townhall demo`` need Telegram *users* (sending texts, commands, locations,
photos, pressing inline buttons, voting in polls). Each helper builds the exact Update the Bot API
would deliver, refuses things a real client cannot do (pressing a button that is not on the
message, voting twice in a poll that forbids revoting) and hands the Update to delivery
(webhook POST or getUpdates queue).
"""

from __future__ import annotations

import copy
from typing import Any, TypedDict, Unpack

from townhall.testing.fake_telegram_markup import detect_entities
from townhall.testing.fake_telegram_objects import (
    JSON,
    callback_data_of,
    make_chat,
    make_user,
    now,
    option_persistent_id,
    photo_sizes,
)
from townhall.testing.fake_telegram_state import BotApiState


class Citizen(TypedDict, total=False):
    """Who acts and where: the keyword arguments shared by every citizen helper."""

    user_id: int
    first_name: str
    last_name: str | None
    username: str | None
    language_code: str | None
    chat_id: int | None
    chat_type: str
    chat_title: str | None


class CitizenActions(BotApiState):
    """Helpers that simulate Telegram users; each returns the Update it created."""

    def _emit(self, payload: JSON) -> JSON:
        update = {"update_id": self._next("update"), **copy.deepcopy(payload)}
        self.updates.append(update)
        self._enqueue(update)
        return copy.deepcopy(update)

    @staticmethod
    def _user(who: Citizen) -> JSON:
        return make_user(
            who.get("user_id", 1001),
            who.get("first_name", "Ana"),
            last_name=who.get("last_name"),
            username=who.get("username"),
            language_code=who.get("language_code", "en"),
        )

    def _who(self, who: Citizen) -> tuple[JSON, JSON]:
        """Build (User, Chat) from citizen kwargs; private chat id = user id, as in Telegram."""
        user = self._user(who)
        user_id, first_name = user["id"], user["first_name"]
        chat_type = who.get("chat_type", "private")
        chat_id = who.get("chat_id")
        if chat_type == "private":
            if chat_id not in (None, user_id):
                raise ValueError("a private chat's id is the user's id; omit chat_id")
            chat = make_chat(
                user_id,
                "private",
                first_name=first_name,
                last_name=who.get("last_name"),
                username=who.get("username"),
            )
        elif chat_type in ("group", "supergroup"):
            if chat_id is None or chat_id >= 0:
                raise ValueError(f"a {chat_type} needs a negative chat_id")
            chat = make_chat(chat_id, chat_type, title=who.get("chat_title") or f"Chat {chat_id}")
        else:
            raise ValueError(f"unsupported chat_type {chat_type!r} (private, group, supergroup)")
        self._chats[chat["id"]] = chat
        if chat_type == "private":
            self.group_only_users.discard(user_id)
        elif user_id not in self._chats:
            self.group_only_users.add(user_id)
        return user, chat

    def user_sends(
        self,
        text: str,
        *,
        user_id: int = 1001,
        first_name: str = "Ana",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        chat_id: int | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """A user writes ``text``; commands, mentions, URLs... get their entities."""
        if not text:
            raise ValueError("Telegram clients cannot send an empty message")
        user, chat = self._who(Citizen(
            user_id=user_id, first_name=first_name, last_name=last_name, username=username,
            language_code=language_code, chat_id=chat_id, chat_type=chat_type,
            chat_title=chat_title,
        ))  # fmt: skip
        reply = self._original_of_reply(chat, reply_to_message_id)
        message = self._new_message(
            chat, user, reply_to_message=reply, text=text, entities=detect_entities(text)
        )
        return self._emit({"message": message})

    def _original_of_reply(self, chat: JSON, message_id: int | None) -> JSON | None:
        """The ``reply_to_message`` of a reply: the original message in the same chat, without
        its own ``reply_to_message`` (the Bot API never nests them)."""
        if message_id is None:
            return None
        target = self._messages.get((chat["id"], message_id))
        if target is None:
            raise ValueError(f"no message {message_id} in chat {chat['id']}")
        return {k: v for k, v in target.items() if k != "reply_to_message"}

    def user_sends_location(
        self,
        latitude: float,
        longitude: float,
        *,
        reply_to_message_id: int | None = None,
        **who: Unpack[Citizen],
    ) -> JSON:
        """A user shares a location pin (e.g. where a pothole is), maybe replying to a message
        (e.g. the bot asking where the problem is)."""
        user, chat = self._who(who)
        reply = self._original_of_reply(chat, reply_to_message_id)
        location = {"latitude": float(latitude), "longitude": float(longitude)}
        message = self._new_message(chat, user, reply_to_message=reply, location=location)
        return self._emit({"message": message})

    def user_sends_photo(
        self,
        *,
        caption: str | None = None,
        width: int = 1280,
        height: int = 960,
        content: bytes = b"\xff\xd8\xff\xe0fake-jpeg\xff\xd9",
        reply_to_message_id: int | None = None,
        **who: Unpack[Citizen],
    ) -> JSON:
        """A user sends a photo; its sizes are downloadable through getFile + the file URL."""
        user, chat = self._who(who)
        reply = self._original_of_reply(chat, reply_to_message_id)
        sizes = photo_sizes(f"{self._next('file'):06d}", width, height)
        for size in sizes:
            self.files[size["file_id"]] = (f"photos/{size['file_unique_id']}.jpg", content)
        message = self._new_message(
            chat,
            user,
            reply_to_message=reply,
            photo=sizes,
            caption=caption,
            caption_entities=detect_entities(caption) if caption else None,
        )
        return self._emit({"message": message})

    def user_edits(self, message: JSON | tuple[int, int], text: str) -> JSON:
        """The author edits an earlier text message (an ``edited_message`` Update)."""
        stored = self._lookup(message)
        if stored is None or stored.get("from", {}).get("is_bot", True) or "text" not in stored:
            raise ValueError("only a user's own earlier text message can be edited")
        stored.update(text=text, edit_date=now())
        stored.pop("entities", None)
        if entities := detect_entities(text):
            stored["entities"] = entities
        return self._emit({"edited_message": stored})

    def user_presses(
        self,
        callback_data: str,
        *,
        message: JSON | tuple[int, int],
        strict: bool = True,
        **who: Unpack[Citizen],
    ) -> JSON:
        """A user taps an inline button of ``message`` (a sent record, Message, or (chat, id)).

        With ``strict`` the button must exist on the message's current keyboard, as in a real
        client; ``strict=False`` allows stale/forged data and deleted messages.
        """
        stored = self._lookup(message)
        if stored is None and strict:
            raise ValueError(f"message {message!r} does not exist (deleted or never sent)")
        if strict and stored is not None:
            available = callback_data_of(stored.get("reply_markup"))
            if callback_data not in available:
                raise ValueError(f"no button with callback_data {callback_data!r}: {available}")
        user = self._user(who)
        if stored is None:
            chat_id, message_id = _address(message)
            shown: JSON = {"chat": self._chat(chat_id), "message_id": message_id, "date": 0}
        else:
            shown = stored
        query_id = str(4_000_000_000_000_000 + self._next("callback"))
        self._open_callbacks.add(query_id)
        query = {
            "id": query_id,
            "from": user,
            "message": shown,
            "chat_instance": str(abs(shown["chat"]["id"]) * 31 + 7),
            "data": callback_data,
        }
        return self._emit({"callback_query": query})

    def user_votes(
        self,
        poll_id: str,
        option_ids: list[int],
        *,
        emit_poll_state: bool = True,
        **who: Unpack[Citizen],
    ) -> JSON:
        """A user votes (``[]`` retracts). Returns the ``poll_answer`` Update.

        As in Telegram, bots get ``poll_answer`` only for non-anonymous polls; for anonymous
        polls the returned Update is the ``poll`` state update. ``emit_poll_state`` also sends
        the new Poll state (Telegram does so for polls the bot sent).
        """
        state = self._polls.get(poll_id)
        if state is None:
            raise ValueError(f"unknown poll {poll_id!r}")
        poll = state["poll"]
        user = self._user(who)
        self._check_vote(poll, state["votes"].get(user["id"]), option_ids)
        for i in state["votes"].get(user["id"], []):
            poll["options"][i]["voter_count"] -= 1
        for i in option_ids:
            poll["options"][i]["voter_count"] += 1
        if option_ids:
            if user["id"] not in state["votes"]:
                poll["total_voter_count"] += 1
            state["votes"][user["id"]] = list(option_ids)
        elif state["votes"].pop(user["id"], None) is not None:
            poll["total_voter_count"] -= 1
        answer = None
        if not poll["is_anonymous"]:
            answer = self._emit({"poll_answer": {
                "poll_id": poll_id,
                "user": user,
                "option_ids": list(option_ids),
                "option_persistent_ids": [option_persistent_id(i) for i in option_ids],
            }})  # fmt: skip
        state_update = self._emit({"poll": poll}) if emit_poll_state or answer is None else None
        return answer or state_update  # type: ignore[return-value]

    @staticmethod
    def _check_vote(poll: JSON, previous: list[int] | None, option_ids: list[int]) -> None:
        if poll["is_closed"]:
            raise ValueError("the poll is closed")
        if any(not 0 <= i < len(poll["options"]) for i in option_ids):
            raise ValueError(f"option ids {option_ids} out of range")
        if len(set(option_ids)) != len(option_ids):
            raise ValueError("duplicate option ids")
        if len(option_ids) > 1 and not poll["allows_multiple_answers"]:
            raise ValueError("this poll allows a single answer")
        if previous is not None and not poll["allows_revoting"]:
            raise ValueError("this poll does not allow changing a vote")
        if previous is None and not option_ids:
            raise ValueError("nothing to retract: the user has not voted")

    def _lookup(self, message: Any) -> JSON | None:
        return self._messages.get(_address(message))


def _address(message: Any) -> tuple[int, int]:
    """(chat_id, message_id) from a sent record, a Message dict or a tuple."""
    if isinstance(message, tuple) and len(message) == 2:
        return int(message[0]), int(message[1])
    if isinstance(message, dict):
        if "chat" in message:
            return int(message["chat"]["id"]), int(message["message_id"])
        if "chat_id" in message and "message_id" in message:
            return int(message["chat_id"]), int(message["message_id"])
    raise TypeError("message must be a sent record, a Message dict or (chat_id, message_id)")
