"""Is a Slack request shaped the way Slack sends it? Checked before bolt dispatches it.

Why: bolt's built-in middleware and matchers, and the console's listeners, index straight into
a payload (`body["actions"][0]["action_id"]`, `int(action["value"])`,
`view["state"]["values"][block][action]`), so a payload of another shape crashed them in the
middle of a request: a traceback in the log and a 500 for Slack. Only Slack can sign a request,
but a card or a modal from an older release, a Slack change, or a leaked signing secret can
still put such a payload in front of us, and it must get a clear 400 instead, before anything
runs. The check covers what bolt and the console read, and nothing else: unknown keys and
unread fields are left alone, as Slack adds fields all the time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bots.slack.blocks import FAQ_MODAL, REPLY_BLOCK, REPLY_INPUT, REPLY_MODAL
from bots.slack.console import BUTTON_ACTIONS, SELECT_ACTIONS, TARGET_BUTTONS
from bots.slack.poll_modal import BLOCKS as POLL_BLOCKS
from bots.slack.poll_modal import DURATIONS, POLL_MODAL

# buttons whose value is the id of a case (or an alert, poll, statement) and selects whose
# option value is `case_id:value`; the reply, canned-reply and FAQ ones also open a modal
ID_BUTTONS = {*BUTTON_ACTIONS, *TARGET_BUTTONS, "case_reply", "case_faq_add"}
ID_SELECTS = {*SELECT_ACTIONS, "case_canned"}
OPENS_MODAL = {"case_reply", "case_faq_add", "case_canned"}
# modals whose `private_metadata` is the case id
CASE_MODALS = {REPLY_MODAL, FAQ_MODAL}
# request types the console or bolt's built-ins answer; everything else is refused
HANDLED_TYPES = {"event_callback", "url_verification", "block_actions", "view_submission",
                 "view_closed", "app_rate_limited"}  # fmt: skip
# the ids bolt copies from the body into its context, and then compares, hashes and sends
# back to Slack with every Web API call (a 20 kB "team id" made auth.test itself fail)
CONTEXT_IDS = (
    "enterprise_id", "team_id", "user_id", "actor_enterprise_id", "actor_team_id",
    "actor_user_id", "channel_id", "function_execution_id",
)  # fmt: skip
# string fields of a message event (and of the message an edit or deletion carries)
EVENT_TEXT = (
    "type", "subtype", "user", "text", "ts", "thread_ts", "channel", "bot_id", "channel_type",
    "event_ts", "team", "parent_user_id", "client_msg_id",
)  # fmt: skip
_ID = re.compile(r"\d{1,18}")
# Slack's own ids (T0123ABCD, U..., C..., E...) and message timestamps (1764500000.000100)
_SLACK_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_TS = re.compile(r"\d{1,12}\.\d{1,9}")
_ID_AND_VALUE = re.compile(r"\d{1,18}:.*", re.DOTALL)


class MalformedRequest(ValueError):
    """A Slack request body that bolt or the console cannot read: answered with a 400."""


def check_request(body: Any, context: Mapping[str, Any]) -> None:
    """Raise `MalformedRequest` unless `body` (and the `context` bolt built from it) has the
    shape every reader of it expects."""
    if not isinstance(body, dict):
        raise MalformedRequest("the body is not a JSON object")
    for key in CONTEXT_IDS:
        _slack_id(context.get(key), key)
    _text(context.get("response_url"), "response_url")
    if _text(context.get("thread_ts"), "thread_ts") and not _TS.fullmatch(context["thread_ts"]):
        raise MalformedRequest("thread_ts is not a Slack timestamp")
    kind = body.get("type")
    _text(kind, "type")
    if "event" in body or kind == "event_callback":
        _event(body.get("event"))
    if "command" in body:
        _command(body)
    elif kind == "block_actions":
        _block_actions(body)
    elif kind == "view_submission":
        _view_submission(body)
    elif kind == "url_verification":
        _text(body.get("challenge"), "challenge", required=True)
    elif kind not in HANDLED_TYPES and not (kind is None and "ssl_check" in body):
        raise MalformedRequest(f"not a request Townhall handles (type {kind!r:.40})")


def _text(value: Any, what: str, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise MalformedRequest(f"{what} is not text")
    return value


def _slack_id(value: Any, what: str, *, required: bool = False) -> None:
    if _text(value, what, required=required) is not None and not _SLACK_ID.fullmatch(value):
        raise MalformedRequest(f"{what} is not a Slack id")


def _object(value: Any, what: str, *, required: bool = False) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise MalformedRequest(f"{what} is not an object")
    return value


def _user(body: dict[str, Any]) -> None:
    _slack_id(_object(body.get("user"), "user", required=True).get("id"), "user id", required=True)


def _event(value: Any) -> None:
    event = _object(value, "event", required=True)
    if _text(event.get("type"), "event type", required=True) == "message":
        _slack_id(event.get("channel"), "message channel", required=True)
        _slack_id(event.get("user"), "message author")
        for key in ("ts", "thread_ts"):
            ts = _text(event.get(key), f"message {key}", required=key == "ts")
            if ts is not None and not _TS.fullmatch(ts):
                raise MalformedRequest(f"message {key} is not a Slack timestamp")
    for item in (event, *(event.get(k) for k in ("message", "previous_message"))):
        for key in EVENT_TEXT:
            _text(_object(item, "message").get(key), f"event {key}")


def _command(body: dict[str, Any]) -> None:
    for key in ("command", "trigger_id"):
        _text(body.get(key), key, required=True)
    _slack_id(body.get("user_id"), "user_id", required=True)
    _text(body.get("text"), "text")


def _block_actions(body: dict[str, Any]) -> None:
    _user(body)
    for key in ("channel", "container", "message", "view", "state"):
        _object(body.get(key), key)
    _slack_id(_object(body.get("channel"), "channel").get("id"), "channel id")
    trigger = _text(body.get("trigger_id"), "trigger_id")
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        raise MalformedRequest("block_actions without actions")
    for action in actions:
        action = _object(action, "action", required=True)
        action_id = _text(action.get("action_id"), "action_id", required=True)
        _text(action.get("block_id"), "block_id")
        value = _text(action.get("value"), "action value")
        option = _object(action.get("selected_option"), "selected_option")
        chosen = _text(option.get("value"), "option value")
        if action_id in ID_BUTTONS and not _ID.fullmatch(value or ""):
            raise MalformedRequest(f"{action_id}: the value is not an id")
        if action_id in ID_SELECTS and not _ID_AND_VALUE.fullmatch(chosen or ""):
            raise MalformedRequest(f"{action_id}: the option is not an id and a value")
        if action_id in OPENS_MODAL and not trigger:
            raise MalformedRequest(f"{action_id}: no trigger_id to open the form with")


def _view_submission(body: dict[str, Any]) -> None:
    _user(body)
    view = _object(body.get("view"), "view", required=True)
    for key in ("id", "type"):
        _text(view.get(key), f"view {key}", required=True)
    callback = _text(view.get("callback_id"), "callback_id")
    metadata = _text(view.get("private_metadata"), "private_metadata")
    if callback in CASE_MODALS and not _ID.fullmatch(metadata or ""):
        raise MalformedRequest(f"{callback}: private_metadata is not a case id")
    state = _object(view.get("state"), "view state", required=True)
    values = _object(state.get("values"), "view state values", required=True)
    for block in values.values():
        for element in _object(block, "block state", required=True).values():
            element = _object(element, "element state", required=True)
            _text(element.get("value"), "input value")
            _text(_object(element.get("selected_option"), "option").get("value"), "option")
            selected = element.get("selected_options")
            if selected is not None and not (
                isinstance(selected, list) and all(isinstance(o, dict) for o in selected)
            ):
                raise MalformedRequest("selected_options is not a list of options")
    if callback == REPLY_MODAL and not isinstance(
        _object(values.get(REPLY_BLOCK), "reply").get(REPLY_INPUT), dict
    ):
        raise MalformedRequest("the reply form has no reply")
    if callback == POLL_MODAL:
        duration = values.get(POLL_BLOCKS["duration"], {}).get(POLL_BLOCKS["duration"], {})
        chosen = (duration.get("selected_option") or {}).get("value")
        if chosen is not None and chosen not in {str(hours) for _, hours in DURATIONS}:
            raise MalformedRequest("the poll's duration is not one the form offers")
