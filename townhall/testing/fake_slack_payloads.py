"""Builders for the JSON objects the fake Slack returns and sends.

Field names and nesting follow real traffic (java-slack-sdk json-logs samples, the 2021
OpenAPI spec and the Events API envelope schema), so code written against the fake reads the
same keys it will read in production. Grid-only and workflow-function-only keys are left out,
as Slack itself omits them for a plain workspace.
"""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

from townhall.testing.fake_slack_state import Channel, Identity, StoredMessage, User, Workspace


def now_ts() -> str:
    """Current time in Slack's ``seconds.micros`` string format (action_ts, event_ts)."""
    us = time.time_ns() // 1000
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def team_ref(ident: Identity) -> dict[str, Any]:
    """The ``team`` object interaction payloads carry."""
    return {"id": ident.team_id, "domain": ident.team_domain}


def user_ref(ident: Identity, user: User) -> dict[str, Any]:
    """The ``user`` object interaction payloads carry."""
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": ident.team_id}


def bot_profile(ident: Identity) -> dict[str, Any]:
    """``bot_profile`` attached to messages the app posts."""
    icon = "https://a.slack-edge.com/80588/img/plugins/app/bot_{}.png"
    return {
        "id": ident.bot_id,
        "app_id": ident.app_id,
        "name": ident.bot_name,
        "icons": {f"image_{n}": icon.format(n) for n in (36, 48, 72)},
        "deleted": False,
        "updated": 1700000000,
        "team_id": ident.team_id,
    }


def rich_text_blocks(ws: Workspace, text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack clients attach to every typed message."""
    return [
        {
            "type": "rich_text",
            "block_id": ws.ids.block_id(),
            "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
            ],
        }
    ]


def human_message(
    ws: Workspace,
    user_id: str,
    text: str,
    ts: str,
    thread_ts: str | None,
    parent_user_id: str | None,
) -> dict[str, Any]:
    """A message typed by a person in the Slack client (has client_msg_id and rich_text)."""
    data: dict[str, Any] = {
        "type": "message",
        "user": user_id,
        "text": text,
        "ts": ts,
        "team": ws.identity.team_id,
        "client_msg_id": str(uuid.uuid4()),
        "blocks": rich_text_blocks(ws, text),
    }
    if thread_ts is not None:
        data["thread_ts"] = thread_ts
        if parent_user_id is not None:
            data["parent_user_id"] = parent_user_id
    return data


def user_object(ident: Identity, user: User) -> dict[str, Any]:
    """users.info ``user`` (non-enterprise shape of objs_user)."""
    first, _, last = user.real_name.partition(" ")
    image = f"https://secure.gravatar.com/avatar/{user.id.lower()}.jpg?s={{}}"
    profile: dict[str, Any] = {
        "real_name": user.real_name,
        "real_name_normalized": user.real_name,
        "display_name": user.name,
        "display_name_normalized": user.name,
        "first_name": first,
        "last_name": last,
        "title": "",
        "phone": "",
        "skype": "",
        "fields": None,
        "status_text": "",
        "status_emoji": "",
        "status_expiration": 0,
        "avatar_hash": "g" + user.id.lower()[:11],
        "team": ident.team_id,
        **{f"image_{n}": image.format(n) for n in (24, 32, 48, 72, 192, 512)},
    }
    if user.is_bot:
        profile.update({"bot_id": "B" + user.id[1:], "always_active": False})
    else:
        profile["email"] = f"{user.name}@{ident.team_domain}.example"
    return {
        "id": user.id,
        "team_id": ident.team_id,
        "name": user.name,
        "deleted": False,
        "color": "9f69e7",
        "real_name": user.real_name,
        "tz": user.tz,
        "tz_label": "Eastern Standard Time",
        "tz_offset": -18000,
        "profile": profile,
        "is_admin": user.is_admin,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "updated": user.updated,
        "is_email_confirmed": not user.is_bot,
        "who_can_share_contact_card": "EVERYONE",
    }


def channel_object(ws: Workspace, channel: Channel, *, num_members: bool = False) -> dict[str, Any]:
    """conversations.info ``channel`` (objs_conversation)."""
    ident = ws.identity
    creator = next(iter(sorted(ws.users)), ident.bot_user_id)
    data: dict[str, Any] = {
        "id": channel.id,
        "name": channel.name,
        "name_normalized": channel.name,
        "created": channel.created,
        "creator": creator,
        "is_archived": False,
        "is_channel": not (channel.is_private or channel.is_im),
        "is_group": channel.is_private,
        "is_im": channel.is_im,
        "is_mpim": False,
        "is_private": channel.is_private or channel.is_im,
        "is_general": False,
        "is_shared": False,
        "is_ext_shared": False,
        "is_org_shared": False,
        "is_pending_ext_shared": False,
        "is_member": channel.bot_is_member,
        "unlinked": 0,
        "shared_team_ids": [ident.team_id],
        "pending_shared": [],
        "pending_connected_team_ids": [],
        "previous_names": [],
        "topic": {"value": channel.topic, "creator": "", "last_set": 0},
        "purpose": {"value": channel.purpose, "creator": "", "last_set": 0},
    }
    if num_members:
        data["num_members"] = len(ws.members(channel))
    return data


def event_envelope(ws: Workspace, event: dict[str, Any]) -> dict[str, Any]:
    """An Events API ``event_callback`` envelope around one event."""
    ident = ws.identity
    return {
        "token": ident.verification_token,
        "team_id": ident.team_id,
        "context_team_id": ident.team_id,
        "context_enterprise_id": None,
        "api_app_id": ident.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": ws.ids.new("Ev", 10),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": ident.team_id,
                "user_id": ident.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        # Deprecated by Slack in favour of ``authorizations`` but still required by the envelope
        # schema; harmless for every SDK.
        "authed_users": [ident.bot_user_id],
        "is_ext_shared_channel": False,
        "event_context": "4-" + ws.ids.token(24),
    }


def message_event(record: StoredMessage, channel: Channel) -> dict[str, Any]:
    """The ``message`` event Slack sends when someone posts ``record``."""
    event = copy.deepcopy(record.data)
    for key in (
        "reply_count",
        "reply_users",
        "reply_users_count",
        "latest_reply",
        "is_locked",
        "subscribed",
    ):
        event.pop(key, None)
    event["channel"] = channel.id
    event["event_ts"] = record.ts
    kind = "im" if channel.is_im else ("group" if channel.is_private else "channel")
    event["channel_type"] = kind
    return event


def find_element(
    blocks: list[dict[str, Any]], action_id: str, block_id: str | None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The (block, element) holding an interactive element with this action_id."""
    for block in blocks:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        elements = list(block.get("elements") or [])
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                elements.append(block[key])
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block, element
    return None


def action_object(
    block: dict[str, Any], element: dict[str, Any], value: str | None
) -> dict[str, Any]:
    """One entry of block_actions ``actions`` for a clicked button (or chosen select option)."""
    action: dict[str, Any] = {
        "action_id": element["action_id"],
        "block_id": block["block_id"],
        "type": element.get("type", "button"),
        "action_ts": now_ts(),
    }
    if action["type"] == "button":
        action["text"] = copy.deepcopy(element.get("text"))
        if element.get("style"):
            action["style"] = element["style"]
        chosen = value if value is not None else element.get("value")
        if chosen is not None:
            action["value"] = chosen
    elif action["type"] in ("static_select", "radio_buttons", "overflow"):
        options = element.get("options") or []
        match = next((o for o in options if o.get("value") == value), None)
        if match is None:
            raise ValueError(f"no option {value!r} in {element['action_id']!r}")
        action["selected_option"] = copy.deepcopy(match)
    else:
        action["value"] = value
    return action


def block_actions(
    ws: Workspace,
    user: User,
    channel: Channel,
    *,
    trigger_id: str,
    response_url: str,
    container: dict[str, Any],
    message: dict[str, Any] | None,
    action: dict[str, Any],
) -> dict[str, Any]:
    """A ``block_actions`` interaction payload for a click in a channel message."""
    ident = ws.identity
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": user_ref(ident, user),
        "api_app_id": ident.app_id,
        "token": ident.verification_token,
        "container": container,
        "trigger_id": trigger_id,
        "team": team_ref(ident),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {
            "id": channel.id,
            "name": channel.name if not channel.is_im else "directmessage",
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }
    if message is not None:
        payload["message"] = message
    return payload


def view_submission(
    ws: Workspace, user: User, view: dict[str, Any], *, trigger_id: str
) -> dict[str, Any]:
    """A ``view_submission`` payload for a modal the user submits."""
    ident = ws.identity
    return {
        "type": "view_submission",
        "team": team_ref(ident),
        "user": user_ref(ident, user),
        "api_app_id": ident.app_id,
        "token": ident.verification_token,
        "trigger_id": trigger_id,
        "view": view,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed(ws: Workspace, user: User, view: dict[str, Any]) -> dict[str, Any]:
    """A ``view_closed`` payload (sent only for views opened with notify_on_close)."""
    ident = ws.identity
    return {
        "type": "view_closed",
        "team": team_ref(ident),
        "user": user_ref(ident, user),
        "api_app_id": ident.app_id,
        "token": ident.verification_token,
        "view": view,
        "is_cleared": False,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def slash_command(
    ws: Workspace,
    user: User,
    channel: Channel,
    *,
    command: str,
    text: str,
    trigger_id: str,
    response_url: str,
) -> dict[str, str]:
    """Slash command fields (form-encoded over HTTP, a dict of strings over Socket Mode)."""
    ident = ws.identity
    return {
        "token": ident.verification_token,
        "team_id": ident.team_id,
        "team_domain": ident.team_domain,
        "channel_id": channel.id,
        "channel_name": channel.name if not channel.is_im else "directmessage",
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": ident.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
