"""Modal views of the fake Slack: views.open / views.push / views.update and the view stack.

Real Slack only opens a modal for a trigger_id it issued in the last three seconds and only once,
and it lets the app's answer to a ``view_submission`` (``response_action``) update, push, clear or
keep the modal with field errors. Modelling that is what lets tests catch "opened the modal after
slow work" and "forgot to ack with errors" bugs.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from townhall.testing.fake_slack_state import ViewRecord, Workspace
from townhall.testing.fake_slack_validate import ApiError, view_errors

Params = dict[str, Any]
MAX_STACK = 3
INPUT_VALUE_KEYS = {
    "plain_text_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "number_input": "value",
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "checkboxes": "selected_options",
    "multi_static_select": "selected_options",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
}
# The element field that prefills each state key: a field a person leaves alone is submitted
# with its initial value, as the Slack client does.
INITIAL_KEYS = {
    "value": "initial_value",
    "selected_option": "initial_option",
    "selected_options": "initial_options",
    "selected_user": "initial_user",
    "selected_users": "initial_users",
    "selected_conversation": "initial_conversation",
    "selected_channel": "initial_channel",
    "selected_date": "initial_date",
    "selected_time": "initial_time",
}


class ViewsApi:
    """views.* handlers plus the view-stack transitions the human-side helpers need."""

    trigger_ttl: float = 3.0

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def _claim_trigger(self, params: Params) -> str:
        """Validate (but do not consume) a trigger_id; returns the user it was issued for."""
        trigger_id = str(params.get("trigger_id") or "")
        trigger = self.ws.triggers.get(trigger_id)
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued_at > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        return trigger.user_id

    def _checked_view(self, params: Params) -> dict[str, Any]:
        view = params.get("view")
        errors = view_errors(view)
        if errors:
            raise ApiError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        assert isinstance(view, dict)
        external_id = view.get("external_id")
        if external_id and any(
            r.view.get("external_id") == external_id and r.is_open for r in self.ws.views.values()
        ):
            raise ApiError("duplicate_external_id")
        return view

    def build_view(
        self, spec: dict[str, Any], *, view_id: str, root_id: str, previous_id: str | None
    ) -> dict[str, Any]:
        """The stored view object Slack returns for a definition (block_ids filled in)."""
        ident = self.ws.identity
        blocks = copy.deepcopy(spec.get("blocks", []))
        for block in blocks:
            block.setdefault("block_id", self.ws.ids.block_id())
        return {
            "id": view_id,
            "team_id": ident.team_id,
            "type": spec.get("type", "modal"),
            "blocks": blocks,
            "private_metadata": spec.get("private_metadata", ""),
            "callback_id": spec.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{self.ws.ids.token(4)}",
            "title": copy.deepcopy(spec.get("title")),
            "clear_on_close": bool(spec.get("clear_on_close", False)),
            "notify_on_close": bool(spec.get("notify_on_close", False)),
            "submit_disabled": bool(spec.get("submit_disabled", False)),
            "close": copy.deepcopy(spec.get("close")),
            "submit": copy.deepcopy(spec.get("submit")),
            "previous_view_id": previous_id,
            "root_view_id": root_id,
            "app_id": ident.app_id,
            "external_id": spec.get("external_id", ""),
            "app_installed_team_id": ident.team_id,
            "bot_id": ident.bot_id,
        }

    def open_view(
        self, spec: dict[str, Any], user_id: str, *, previous: ViewRecord | None = None
    ) -> ViewRecord:
        """Record a newly visible view (root, or pushed on top of ``previous``)."""
        view_id = self.ws.ids.new("V")
        root_id = previous.view["root_view_id"] if previous is not None else view_id
        view = self.build_view(
            spec,
            view_id=view_id,
            root_id=root_id,
            previous_id=previous.view["id"] if previous is not None else None,
        )
        record = ViewRecord(view=view, user_id=user_id)
        self.ws.views[view_id] = record
        self.ws.view_order.append(view_id)
        return record

    def stack(self, record: ViewRecord) -> list[ViewRecord]:
        """Open views sharing ``record``'s root, bottom first."""
        root = record.view["root_view_id"]
        return [
            r
            for r in (self.ws.views[v] for v in self.ws.view_order)
            if r.is_open and r.view["root_view_id"] == root
        ]

    # -- Web API -------------------------------------------------------------------------------

    def views_open(self, params: Params) -> dict[str, Any]:
        user_id = self._claim_trigger(params)
        spec = self._checked_view(params)
        self.ws.triggers[str(params["trigger_id"])].used = True
        record = self.open_view(spec, user_id)
        return {"ok": True, "view": copy.deepcopy(record.view)}

    def views_push(self, params: Params) -> dict[str, Any]:
        user_id = self._claim_trigger(params)
        spec = self._checked_view(params)
        top = self.ws.latest_open_view(user_id)
        if top is None:
            raise ApiError("not_found")
        if len(self.stack(top)) >= MAX_STACK:
            raise ApiError("push_limit_reached")
        self.ws.triggers[str(params["trigger_id"])].used = True
        record = self.open_view(spec, user_id, previous=top)
        return {"ok": True, "view": copy.deepcopy(record.view)}

    def views_update(self, params: Params) -> dict[str, Any]:
        record = self.ws.views.get(str(params.get("view_id") or ""))
        if record is None and params.get("external_id"):
            record = next(
                (
                    r
                    for r in self.ws.views.values()
                    if r.view.get("external_id") == params["external_id"]
                ),
                None,
            )
        if record is None:
            raise ApiError("not_found")
        if params.get("hash") and params["hash"] != record.view["hash"]:
            raise ApiError("hash_conflict")
        spec = params.get("view")
        errors = view_errors(spec)
        if errors:
            raise ApiError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        assert isinstance(spec, dict)
        self.replace(record, spec)
        return {"ok": True, "view": copy.deepcopy(record.view)}

    def replace(self, record: ViewRecord, spec: dict[str, Any]) -> None:
        """Swap a view's content in place, keeping its id and stack links (new hash)."""
        view = record.view
        record.view = self.build_view(
            spec,
            view_id=view["id"],
            root_id=view["root_view_id"],
            previous_id=view["previous_view_id"],
        )

    # -- submission outcomes -------------------------------------------------------------------

    def after_submission(self, record: ViewRecord, response: Any) -> None:
        """Apply the app's ack to a view_submission the way the Slack client does."""
        action = response.get("response_action") if isinstance(response, dict) else None
        if action == "errors":
            return
        if action == "update" and isinstance(response.get("view"), dict):
            self.replace(record, response["view"])
        elif action == "push" and isinstance(response.get("view"), dict):
            self.open_view(response["view"], record.user_id, previous=record)
        elif action == "clear":
            for item in self.stack(record):
                item.is_open = False
        else:
            record.is_open = False


def state_values(
    view: dict[str, Any],
    values: dict[str, dict[str, Any]],
    previous: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``view.state.values`` for a submission: every input in the view, filled from ``values``.

    Plain strings become ``{"type": <element type>, "value": ...}`` (or the selected_* key the
    element uses); dicts are taken as already-shaped state. An input missing from ``values`` keeps
    what it held: its state in ``previous`` (the last submission, e.g. one refused with errors:
    Slack keeps what was typed into an input whose block_id and action_id stay the same), else
    its ``initial_*`` value. An empty string in ``values`` is a field the person cleared.
    Unknown block/action IDs raise, because a person cannot type into a field the modal does
    not show.
    """
    out: dict[str, dict[str, Any]] = {}
    known: set[tuple[str, str]] = set()
    for block in view.get("blocks", []):
        element = block.get("element")
        if block.get("type") != "input" or not isinstance(element, dict):
            continue
        block_id, action_id = block["block_id"], element["action_id"]
        known.add((block_id, action_id))
        typed = action_id in values.get(block_id, {})
        given = values.get(block_id, {}).get(action_id)
        etype = element.get("type", "plain_text_input")
        key = INPUT_VALUE_KEYS.get(etype, "value")
        kept = (previous or {}).get(block_id, {}).get(action_id)
        if not typed and kept is not None:
            given = copy.deepcopy(kept.get(key))
            entry = copy.deepcopy(kept)
        elif not typed and INITIAL_KEYS.get(key, "") in element:
            given = copy.deepcopy(element[INITIAL_KEYS[key]])
            entry = {"type": etype, key: given}
        elif isinstance(given, dict):
            entry = {"type": etype, **given}
        else:
            if key in ("selected_option", "selected_options") and given is not None:
                options = {o.get("value"): o for o in element.get("options", [])}
                wanted = [given] if isinstance(given, str) else list(given)
                picked = [copy.deepcopy(options[w]) for w in wanted if w in options]
                given = picked[0] if key == "selected_option" else picked
            entry = {"type": etype, key: given}
        if given in (None, "", []) and not block.get("optional", False):
            raise ValueError(f"input {block_id}/{action_id} is required: Slack would not submit")
        if isinstance(given, str) and given and not (
            element.get("min_length", 0) <= len(given) <= element.get("max_length", 3000)
        ):
            raise ValueError(
                f"input {block_id}/{action_id} must have {element.get('min_length', 0)} to "
                f"{element.get('max_length', 3000)} characters: Slack would not submit"
            )
        out.setdefault(block_id, {})[action_id] = entry
    for block_id, actions in values.items():
        for action_id in actions:
            if (block_id, action_id) not in known:
                raise ValueError(
                    f"view has no input {block_id}/{action_id}; inputs: {sorted(known)}"
                )
    return out
