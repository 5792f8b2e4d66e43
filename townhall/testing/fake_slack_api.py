"""Web API method handlers of the fake Slack (``/api/{method}``).

Every handler validates all of its arguments before it mutates the workspace, so a rejected
call (or one that fault injection intercepts before the handler runs) has no effect, exactly
like a failed request to real Slack. Responses carry the fields the 2021 OpenAPI spec and the
live API return, so the real slack_sdk / slack_bolt objects parse them unchanged.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any

from townhall.testing import fake_slack_payloads as pl
from townhall.testing.fake_slack_files import FilesApi
from townhall.testing.fake_slack_state import Channel, StoredMessage, Workspace
from townhall.testing.fake_slack_validate import ApiError, block_errors
from townhall.testing.fake_slack_views import ViewsApi

Params = dict[str, Any]
MAX_TEXT = 40_000
JSON_PARAMS = ("blocks", "attachments", "view", "files", "metadata")
WRITE_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "chat.delete",
        "views.open",
        "views.update",
        "views.push",
        "reactions.add",
        "reactions.remove",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    }
)


def decode_json_params(params: Params) -> None:
    """Form-encoded calls send blocks/view/... as JSON strings; decode them in place."""
    for key in JSON_PARAMS:
        value = params.get(key)
        if isinstance(value, str) and value != "":
            try:
                params[key] = json.loads(value)
            except ValueError as exc:
                code = "invalid_blocks_format" if key == "blocks" else "invalid_arguments"
                raise ApiError(
                    code, response_metadata={"messages": [f"[ERROR] {key} is not valid JSON"]}
                ) from exc


def _cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().split(":", 1)[1])
    except (ValueError, IndexError) as exc:
        raise ApiError("invalid_cursor") from exc


def _page(items: list[dict[str, Any]], params: Params, default_limit: int) -> tuple[list[Any], str]:
    start = _offset(params.get("cursor"))
    limit = int(params.get("limit") or default_limit)
    page = items[start : start + limit]
    next_cursor = _cursor(start + limit) if start + limit < len(items) else ""
    return page, next_cursor


def _in_range(ts: str, params: Params) -> bool:
    inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
    oldest, latest = params.get("oldest"), params.get("latest")
    if oldest and (float(ts) < float(oldest) or (float(ts) == float(oldest) and not inclusive)):
        return False
    return not (
        latest and (float(ts) > float(latest) or (float(ts) == float(latest) and not inclusive))
    )


class WebApi(ViewsApi, FilesApi):
    """Dispatches ``/api/{method}`` calls onto the shared :class:`Workspace`."""

    def __init__(
        self, ws: Workspace, *, base_url: Callable[[], str], issue_socket_url: Callable[[], str]
    ) -> None:
        super().__init__(ws)
        self._base_url = base_url
        self._issue_socket_url = issue_socket_url
        self.methods: dict[str, Callable[[Params], dict[str, Any]]] = {
            "api.test": lambda p: {"ok": True, "args": p},
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.delete": self.chat_delete,
            "chat.getPermalink": self.chat_get_permalink,
            "conversations.replies": self.conversations_replies,
            "conversations.history": self.conversations_history,
            "conversations.info": self.conversations_info,
            "users.info": self.users_info,
            "usergroups.list": self.usergroups_list,
            "usergroups.users.list": self.usergroups_users_list,
            "apps.connections.open": lambda p: {"ok": True, "url": self._issue_socket_url()},
            "files.getUploadURLExternal": self.files_get_upload_url,
            "files.completeUploadExternal": self.files_complete_upload,
            "reactions.add": self.reactions_add,
            "reactions.remove": self.reactions_remove,
            "views.open": self.views_open,
            "views.push": self.views_push,
            "views.update": self.views_update,
        }

    # -- helpers -------------------------------------------------------------------------------

    def _channel(self, params: Params, key: str = "channel", *, post: bool = False) -> Channel:
        channel = self.ws.resolve_channel(str(params.get(key) or ""))
        if channel is None:
            raise ApiError("channel_not_found")
        if post and not channel.bot_is_member:
            raise ApiError("not_in_channel")
        return channel

    def _message(self, channel_id: str, ts: Any) -> StoredMessage:
        record = self.ws.find(channel_id, str(ts or ""))
        if record is None:
            raise ApiError("message_not_found")
        return record

    def _content(self, params: Params) -> tuple[str | None, Any, Any]:
        text, blocks = params.get("text"), params.get("blocks")
        attachments = params.get("attachments")
        if not text and not blocks and not attachments:
            raise ApiError("no_text")
        if text is not None and len(str(text)) > MAX_TEXT:
            raise ApiError("msg_too_long")
        if blocks not in (None, ""):
            errors = block_errors(blocks)
            if errors:
                raise ApiError(
                    "invalid_blocks",
                    errors=errors,
                    response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
                )
        if attachments not in (None, "") and not isinstance(attachments, list):
            raise ApiError("invalid_attachments")
        return (None if text is None else str(text)), blocks, attachments

    def _bot_fields(self) -> dict[str, Any]:
        ident = self.ws.identity
        return {
            "user": ident.bot_user_id,
            "bot_id": ident.bot_id,
            "app_id": ident.app_id,
            "team": ident.team_id,
            "bot_profile": pl.bot_profile(ident),
        }

    def _with_block_ids(self, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = copy.deepcopy(blocks)
        for block in out:
            block.setdefault("block_id", self.ws.ids.block_id())
        return out

    def _apply_content(
        self, data: dict[str, Any], text: str | None, blocks: Any, attachments: Any
    ) -> None:
        if text is not None:
            data["text"] = text
        if blocks not in (None, ""):
            if blocks:
                data["blocks"] = self._with_block_ids(blocks)
            else:
                data.pop("blocks", None)
        if attachments not in (None, ""):
            if attachments:
                data["attachments"] = [
                    {"id": i + 1, "fallback": a.get("fallback", a.get("text", "")), **a}
                    for i, a in enumerate(copy.deepcopy(attachments))
                ]
            else:
                data.pop("attachments", None)

    # -- auth / chat ---------------------------------------------------------------------------

    def auth_test(self, params: Params) -> dict[str, Any]:
        ident = self.ws.identity
        return {
            "ok": True,
            "url": ident.team_url,
            "team": ident.team_name,
            "user": ident.bot_name,
            "team_id": ident.team_id,
            "user_id": ident.bot_user_id,
            "bot_id": ident.bot_id,
            "is_enterprise_install": False,
        }

    def chat_post_message(self, params: Params) -> dict[str, Any]:
        channel = self._channel(params, post=True)
        text, blocks, attachments = self._content(params)
        thread_ts = params.get("thread_ts") or None
        parent = None
        if thread_ts is not None:
            parent = self.ws.find(channel.id, str(thread_ts))
            if parent is None or parent.data.get("subtype") == "tombstone":
                raise ApiError("thread_not_found")
            if parent.is_reply:
                parent = self.ws.find(channel.id, str(parent.data["thread_ts"])) or parent
        data: dict[str, Any] = {
            "type": "message",
            "text": "",
            "ts": self.ws.clock.next(),
            **self._bot_fields(),
        }
        self._apply_content(data, text, blocks, attachments)
        if params.get("username"):
            data["username"] = str(params["username"])
        if params.get("icon_emoji"):
            data["icons"] = {"emoji": str(params["icon_emoji"])}
        if isinstance(params.get("metadata"), dict):
            data["metadata"] = params["metadata"]
        if parent is not None:
            data["thread_ts"] = parent.ts
            data["parent_user_id"] = parent.data.get("user", "")
            if str(params.get("reply_broadcast", "")).lower() in ("1", "true"):
                data["subtype"] = "thread_broadcast"
        record = self.ws.store(channel.id, data)
        return {
            "ok": True,
            "channel": channel.id,
            "ts": record.ts,
            "message": copy.deepcopy(record.data),
        }

    def chat_update(self, params: Params) -> dict[str, Any]:
        channel = self._channel(params)
        record = self._message(channel.id, params.get("ts"))
        text, blocks, attachments = self._content(params)
        if record.data.get("bot_id") != self.ws.identity.bot_id:
            raise ApiError("cant_update_message")
        record.history.append(copy.deepcopy(record.data))
        self._apply_content(record.data, text, blocks, attachments)
        record.data["edited"] = {"user": self.ws.identity.bot_user_id, "ts": self.ws.clock.next()}
        message = copy.deepcopy(record.data)
        message.pop("ts", None)
        return {
            "ok": True,
            "channel": channel.id,
            "ts": record.ts,
            "text": record.data["text"],
            "message": message,
        }

    def chat_post_ephemeral(self, params: Params) -> dict[str, Any]:
        channel = self._channel(params, post=True)
        user_id = str(params.get("user") or "")
        if user_id not in self.ws.users or user_id not in self.ws.members(channel):
            raise ApiError("user_not_in_channel")
        text, blocks, attachments = self._content(params)
        data: dict[str, Any] = {
            "type": "message",
            "text": "",
            "ts": self.ws.clock.next(),
            **self._bot_fields(),
        }
        self._apply_content(data, text, blocks, attachments)
        if params.get("thread_ts"):
            data["thread_ts"] = str(params["thread_ts"])
        self.ws.ephemerals.append(
            # ``user`` is the recipient (as in the API call); the sender is the bot (bot_id).
            {**data, "channel": channel.id, "user": user_id, "message_ts": data["ts"]}
        )
        return {"ok": True, "message_ts": data["ts"]}

    def chat_delete(self, params: Params) -> dict[str, Any]:
        channel = self._channel(params)
        record = self._message(channel.id, params.get("ts"))
        if record.data.get("bot_id") != self.ws.identity.bot_id:
            raise ApiError("cant_delete_message")
        self.ws.remove(record)
        return {"ok": True, "channel": channel.id, "ts": record.ts}

    def chat_get_permalink(self, params: Params) -> dict[str, Any]:
        channel = self._channel(params)
        record = self._message(channel.id, params.get("message_ts"))
        link = f"{self.ws.identity.team_url}archives/{channel.id}/p{record.ts.replace('.', '')}"
        if record.is_reply:
            link += f"?thread_ts={record.data['thread_ts']}&cid={channel.id}"
        return {"ok": True, "channel": channel.id, "permalink": link}

    # -- conversations / users ------------------------------------------------------------------

    def conversations_replies(self, params: Params) -> dict[str, Any]:
        channel = self._channel(params)
        if not params.get("ts"):
            raise ApiError("invalid_arguments")
        record = self.ws.find(channel.id, str(params["ts"]))
        if record is None:
            raise ApiError("thread_not_found")
        if record.is_reply:
            record = self.ws.find(channel.id, str(record.data["thread_ts"])) or record
        thread = [record, *self.ws.replies(record)]
        items = [copy.deepcopy(m.data) for m in thread if _in_range(m.ts, params)]
        page, next_cursor = _page(items, params, 1000)
        return {
            "ok": True,
            "messages": page,
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def conversations_history(self, params: Params) -> dict[str, Any]:
        channel = self._channel(params)
        top = [
            m
            for m in reversed(channel.messages)
            if (not m.is_reply or m.data.get("subtype") == "thread_broadcast")
            and _in_range(m.ts, params)
        ]
        page, next_cursor = _page([copy.deepcopy(m.data) for m in top], params, 100)
        out: dict[str, Any] = {
            "ok": True,
            "messages": page,
            "has_more": bool(next_cursor),
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
        }
        if next_cursor:
            out["response_metadata"] = {"next_cursor": next_cursor}
        return out

    def conversations_info(self, params: Params) -> dict[str, Any]:
        channel = self._channel(params)
        wanted = str(params.get("include_num_members", "")).lower() in ("1", "true")
        return {"ok": True, "channel": pl.channel_object(self.ws, channel, num_members=wanted)}

    def users_info(self, params: Params) -> dict[str, Any]:
        user = self.ws.users.get(str(params.get("user") or ""))
        if user is None:
            raise ApiError("user_not_found")
        return {"ok": True, "user": pl.user_object(self.ws.identity, user)}

    def usergroups_list(self, params: Params) -> dict[str, Any]:
        with_users = str(params.get("include_users", "")).lower() in ("1", "true")
        groups = []
        for group in self.ws.usergroups.values():
            item = {k: copy.deepcopy(v) for k, v in group.items() if k != "users" or with_users}
            item["user_count"] = len(group["users"])
            groups.append(item)
        return {"ok": True, "usergroups": groups}

    def usergroups_users_list(self, params: Params) -> dict[str, Any]:
        group = self.ws.usergroups.get(str(params.get("usergroup") or ""))
        if group is None:
            raise ApiError("no_such_subteam")
        return {"ok": True, "users": list(group["users"])}

    # -- reactions -----------------------------------------------------------------------------

    def _reaction_target(self, params: Params) -> tuple[StoredMessage, str]:
        channel = self._channel(params)
        record = self._message(channel.id, params.get("timestamp"))
        name = str(params.get("name") or "").strip(":")
        if not name:
            raise ApiError("invalid_name")
        return record, name

    def reactions_add(self, params: Params) -> dict[str, Any]:
        record, name = self._reaction_target(params)
        reactions = record.data.setdefault("reactions", [])
        entry = next((r for r in reactions if r["name"] == name), None)
        bot = self.ws.identity.bot_user_id
        if entry is not None and bot in entry["users"]:
            raise ApiError("already_reacted")
        if entry is None:
            entry = {"name": name, "users": [], "count": 0}
            reactions.append(entry)
        entry["users"].append(bot)
        entry["count"] = len(entry["users"])
        return {"ok": True}

    def reactions_remove(self, params: Params) -> dict[str, Any]:
        record, name = self._reaction_target(params)
        bot = self.ws.identity.bot_user_id
        reactions = record.data.get("reactions", [])
        entry = next((r for r in reactions if r["name"] == name and bot in r["users"]), None)
        if entry is None:
            raise ApiError("no_reaction")
        entry["users"].remove(bot)
        entry["count"] = len(entry["users"])
        if not entry["users"]:
            reactions.remove(entry)
        if not reactions:
            record.data.pop("reactions", None)
        return {"ok": True}


__all__ = ["WRITE_METHODS", "ApiError", "WebApi", "decode_json_params"]
