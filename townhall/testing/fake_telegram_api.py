"""Bot API methods of the fake Telegram server (no HTTP here).

Why: keeping the method semantics (validation, error texts, message/poll bookkeeping) apart from
the aiohttp plumbing lets the same code serve HTTP calls and webhook-reply calls, and keeps each
module small. Behaviour follows the Bot API documentation for the methods Townhall uses,
including the failure cases bots actually hit ("message is not modified", "message to edit not
found", "query is too old", 4096-character limit after entity parsing).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from townhall.testing.fake_telegram_objects import (
    JSON,
    ApiError,
    Params,
    bad_request,
    check_reply_markup,
    make_poll,
    now,
)
from townhall.testing.fake_telegram_state import BotApiState, set_optional
from townhall.testing.telegram_spec import SpecViolation, validate_method_result

CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})  # fmt: skip
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")

# Bot API name -> implementing coroutine (looked up case-insensitively, like Telegram does).
METHODS = {
    "getMe": "_get_me", "logOut": "_ok", "close": "_ok", "setWebhook": "_set_webhook",
    "deleteWebhook": "_delete_webhook", "getWebhookInfo": "_get_webhook_info",
    "getUpdates": "_get_updates", "sendMessage": "_send_message",
    "editMessageText": "_edit_message_text", "editMessageReplyMarkup": "_edit_reply_markup",
    "answerCallbackQuery": "_answer_callback_query", "sendChatAction": "_send_chat_action",
    "sendPoll": "_send_poll", "stopPoll": "_stop_poll", "setMyCommands": "_set_my_commands",
    "getMyCommands": "_get_my_commands", "deleteMyCommands": "_delete_my_commands",
    "deleteMessage": "_delete_message", "getFile": "_get_file", "sendDocument": "_send_document",
}  # fmt: skip
_CANONICAL = {name.lower(): name for name in METHODS}


def canonical_method(name: str) -> str | None:
    """The Bot API spelling of ``name`` (case-insensitive), or None if the fake lacks it."""
    return _CANONICAL.get(name.lower())


class BotApiMethods(BotApiState):
    """The Bot API methods the fake implements, dispatched by :meth:`call_method`."""

    async def call_method(self, method: str, params: JSON) -> Any:
        """Run a Bot API method in-process (no faults); raises :class:`ApiError` on failure."""
        name = canonical_method(method)
        if name is None:
            raise ApiError(404, "Not Found")
        try:
            result = await getattr(self, METHODS[name])(Params(name, params))
        except ApiError:
            raise
        except Exception as exc:  # a bug in the fake: surface it, never hide it
            self.errors.append(exc)
            raise ApiError(500, f"Internal Server Error: fake failed: {exc!r}") from exc
        if self._spec is not None:
            try:
                validate_method_result(name, result, self._spec)
            except SpecViolation as exc:
                self.spec_violations.append(str(exc))
        return copy.deepcopy(result)  # callers must not be able to alter stored messages

    # -- Bot API methods -----------------------------------------------------------------------
    async def _get_me(self, p: Params) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": True,  # privacy mode off: groups see everything
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _ok(self, p: Params) -> bool:
        return True

    async def _set_webhook(self, p: Params) -> bool:
        url = p.get_str("url")
        if url is None:
            raise bad_request("url is empty")  # the parameter is required, "" deletes
        if not url:
            self._webhook = None
            self._webhook_changed(p.get_bool("drop_pending_updates"))
            return True
        if not re.match(r"https?://[^\s/]+", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get_str("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = p.get_list("allowed_updates")
        self._webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": p.get_int("max_connections") or 40,
            "allowed_updates": allowed,
        }
        self._webhook_changed(p.get_bool("drop_pending_updates"))
        return True

    async def _delete_webhook(self, p: Params) -> bool:
        self._webhook = None
        self._webhook_changed(p.get_bool("drop_pending_updates"))
        return True

    async def _get_webhook_info(self, p: Params) -> JSON:
        info: JSON = {"url": "", "has_custom_certificate": False}
        info["pending_update_count"] = self._pending_count()
        if self._webhook:
            hook = self._webhook
            info.update(url=hook["url"], ip_address="127.0.0.1")
            info["max_connections"] = hook["max_connections"]
            for key in ("last_error_date", "last_error_message", "allowed_updates"):
                if hook.get(key):
                    info[key] = hook[key]
        return info

    async def _send_message(self, p: Params) -> JSON:
        chat = self._target_chat(p)
        text, entities = self._format(p)
        markup = check_reply_markup(p.get("reply_markup"))
        message = self._new_message(
            chat,
            self.bot_user,
            message_thread_id=p.get_int("message_thread_id"),
            reply_to_message=self._reply_target(p, chat),
            text=text,
            entities=entities,
            reply_markup=markup,
        )
        self._record_sent("sendMessage", message, p)
        return message

    async def _send_document(self, p: Params) -> JSON:
        """A file uploaded as multipart/form-data (or an earlier file_id); the caption follows
        the text rules with a 1024-character limit."""
        chat = self._target_chat(p)
        upload = p.get("document")
        if isinstance(upload, dict) and "content" in upload:
            content, name = bytes(upload["content"]), str(upload.get("filename") or "document")
        elif isinstance(upload, str) and upload in self.files:
            name, content = self.files[upload][0].rsplit("/", 1)[-1], self.files[upload][1]
        else:
            raise bad_request("there is no document in the request")
        if not content:
            raise bad_request("file must be non-empty")
        if len(content) > 50 * 2**20:
            raise ApiError(413, "Request Entity Too Large")
        caption = p.get_str("caption") or ""
        if len(caption) > 1024:
            raise bad_request("message caption is too long")
        stem = f"doc{len(self.files) + 1:06d}"
        self.files[f"BQAC{stem}"] = (f"documents/{name}", content)
        document = {"file_id": f"BQAC{stem}", "file_unique_id": f"AgAD{stem}",
                    "file_name": name, "file_size": len(content)}
        message = self._new_message(chat, self.bot_user, document=document,
                                    **({"caption": caption} if caption else {}))
        self._record_sent("sendDocument", message, p, document_content=content, file_name=name)
        return message

    async def _edit_message_text(self, p: Params) -> JSON | bool:
        text, entities = self._format(p)
        markup = check_reply_markup(p.get("reply_markup"), inline_only=True)
        if p.has("inline_message_id"):
            self.sent.append(
                {
                    "method": "editMessageText",
                    "inline_message_id": p.get("inline_message_id"),
                    "text": text,
                    "params": dict(p.data),
                }
            )
            self._changed()
            return True
        message = self._own_message(p, "message to edit not found")
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        old = (message.get("text"), message.get("entities", []), message.get("reply_markup"))
        if old == (text, entities, markup):
            raise bad_request(NOT_MODIFIED)
        message["text"] = text
        set_optional(message, "entities", entities or None)
        set_optional(message, "reply_markup", markup)  # omitting reply_markup removes it
        message["edit_date"] = now()
        self._record_sent("editMessageText", message, p)
        return message

    async def _edit_reply_markup(self, p: Params) -> JSON | bool:
        markup = check_reply_markup(p.get("reply_markup"), inline_only=True)
        if p.has("inline_message_id"):
            self.sent.append(
                {
                    "method": "editMessageReplyMarkup",
                    "inline_message_id": p.get("inline_message_id"),
                    "params": dict(p.data),
                }
            )
            self._changed()
            return True
        message = self._own_message(p, "message to edit not found")
        if message.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED)
        set_optional(message, "reply_markup", markup)
        message["edit_date"] = now()
        self._record_sent("editMessageReplyMarkup", message, p)
        return message

    async def _answer_callback_query(self, p: Params) -> bool:
        query_id = p.get_str("callback_query_id") or ""
        if query_id not in self._open_callbacks:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = p.get_str("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._open_callbacks.discard(query_id)
        self.answered_callbacks.append({
            "callback_query_id": query_id,
            "text": text,
            "show_alert": p.get_bool("show_alert"),
            "url": p.get_str("url"),
            "cache_time": p.get_int("cache_time"),
        })  # fmt: skip
        self._changed()
        return True

    async def _send_chat_action(self, p: Params) -> bool:
        chat = self._target_chat(p)
        action = p.get_str("action", required=True, missing="action is empty")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.chat_actions.append({"chat_id": chat["id"], "action": action})
        return True

    async def _send_poll(self, p: Params) -> JSON:
        chat = self._target_chat(p)
        question = p.get_str("question")
        if not question or not question.strip():
            raise bad_request("poll question must be non-empty")
        if len(question) > 300:
            raise bad_request("poll question length must not exceed 300")
        texts = [o.get("text") if isinstance(o, dict) else o for o in p.get_list("options") or []]
        if not 1 <= len(texts) <= 12:
            raise bad_request("poll must have 1-12 options")
        if not all(isinstance(t, str) and 1 <= len(t.strip()) <= 100 for t in texts):
            raise bad_request("poll options must be non-empty and at most 100 characters long")
        poll_type = p.get_str("type") or "regular"
        if poll_type not in ("regular", "quiz"):
            raise bad_request("poll type is invalid")
        correct = p.get_list("correct_option_ids")
        if poll_type == "quiz" and (
            not correct or any(not isinstance(i, int) or not 0 <= i < len(texts) for i in correct)
        ):
            raise bad_request("wrong correct option ids specified")
        poll_id = str(5_000_000_000_000_000_000 + self._next("poll"))
        poll = make_poll(
            poll_id,
            question,
            texts,
            is_anonymous=p.get_bool("is_anonymous", True),
            poll_type=poll_type,
            allows_multiple_answers=p.get_bool("allows_multiple_answers"),
            allows_revoting=p.get_bool("allows_revoting", poll_type == "regular"),
            members_only=p.get_bool("members_only"),
            is_closed=p.get_bool("is_closed"),
            correct_option_ids=correct if poll_type == "quiz" else None,
            explanation=p.get_str("explanation"),
            open_period=p.get_int("open_period"),
            close_date=p.get_int("close_date"),
        )
        message = self._new_message(
            chat,
            self.bot_user,
            message_thread_id=p.get_int("message_thread_id"),
            reply_to_message=self._reply_target(p, chat),
            poll=poll,
            reply_markup=check_reply_markup(p.get("reply_markup")),
        )
        self._polls[poll_id] = {"poll": poll, "chat_id": chat["id"], "votes": {}}
        self._polls[poll_id]["message_id"] = message["message_id"]
        self._record_sent("sendPoll", message, p, poll=copy.deepcopy(poll))
        return message

    async def _stop_poll(self, p: Params) -> JSON:
        message = self._stored(p, "message with poll to stop not found")
        poll = message.get("poll")
        if poll is None or message.get("from", {}).get("id") != self.bot_user["id"]:
            raise bad_request("message with poll to stop not found")
        if poll["is_closed"]:
            raise bad_request("poll has already been closed")
        poll["is_closed"] = True
        if p.has("reply_markup"):
            set_optional(message, "reply_markup", check_reply_markup(p.get("reply_markup")))
        self._record_sent("stopPoll", message, p, poll=copy.deepcopy(poll))
        return poll

    def _commands_key(self, p: Params) -> str:
        scope = p.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad_request("can't parse BotCommandScope JSON object")
        return json.dumps([scope, p.get_str("language_code") or ""], sort_keys=True)

    async def _set_my_commands(self, p: Params) -> bool:
        commands = p.get_list("commands")
        if commands is None:
            raise bad_request("commands is empty")
        if len(commands) > 100:
            raise bad_request("too many commands")
        clean = []
        for cmd in commands:
            if not isinstance(cmd, dict) or not _COMMAND_RE.fullmatch(str(cmd.get("command"))):
                raise bad_request("BOT_COMMAND_INVALID")
            description = cmd.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise bad_request("command description must be 1-256 characters")
            clean.append({"command": cmd["command"], "description": description})
        self._commands[self._commands_key(p)] = clean
        return True

    async def _get_my_commands(self, p: Params) -> list[JSON]:
        return self._commands.get(self._commands_key(p), [])

    async def _delete_my_commands(self, p: Params) -> bool:
        self._commands.pop(self._commands_key(p), None)
        return True

    async def _delete_message(self, p: Params) -> bool:
        message = self._stored(p, "message to delete not found")
        del self._messages[(message["chat"]["id"], message["message_id"])]
        self.deleted.append({"chat_id": message["chat"]["id"], "message_id": message["message_id"]})
        self._changed()
        return True

    async def _get_file(self, p: Params) -> JSON:
        file_id = p.get_str("file_id") or ""
        if file_id not in self.files:
            raise bad_request("invalid file_id")
        path, content = self.files[file_id]
        unique = "AQAD" + file_id.removeprefix("AgAC")
        return {"file_id": file_id, "file_unique_id": unique, "file_size": len(content),
                "file_path": path}  # fmt: skip
