"""Spec-shaped Bot API objects and request-parameter handling for the fake Telegram server.

Why a separate module: every object the fake returns must match ``api.json`` exactly (required
fields present, nothing the spec does not define), and python-telegram-bot decodes them strictly.
Keeping the builders small and in one place makes that easy to audit against the spec.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping
from typing import Any

JSON = dict[str, Any]

# Parameters whose Bot API type is exactly String: PTB sends them raw, everything else is
# JSON-encoded (numbers, booleans, objects, arrays) even inside form-urlencoded bodies.
STRING_PARAMS = frozenset({
    "action", "business_connection_id", "callback_query_id", "caption", "description",
    "description_parse_mode", "explanation", "explanation_parse_mode", "file_id",
    "inline_message_id", "ip_address", "language_code", "message_effect_id", "parse_mode",
    "question", "question_parse_mode", "secret_token", "text", "type", "url",
})  # fmt: skip

INLINE_BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip
INLINE_BUTTON_FIELDS = ("text", "icon_custom_emoji_id", "style", *INLINE_BUTTON_ACTIONS)


class ApiError(Exception):
    """A Bot API failure: becomes ``{"ok": false, "error_code", "description"}``."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of Bot API entity offsets and lengths."""
    return len(text.encode("utf-16-le")) // 2


def now() -> int:
    return int(time.time())


def compact(**fields: Any) -> JSON:
    """Build an object without ``None`` fields (the Bot API omits absent optional fields)."""
    return {k: v for k, v in fields.items() if v is not None}


def make_user(
    user_id: int,
    first_name: str,
    *,
    is_bot: bool = False,
    last_name: str | None = None,
    username: str | None = None,
    language_code: str | None = None,
) -> JSON:
    return compact(
        id=user_id,
        is_bot=is_bot,
        first_name=first_name,
        last_name=last_name,
        username=username,
        language_code=language_code,
    )


def make_chat(chat_id: int, chat_type: str, **fields: str | None) -> JSON:
    """``Chat``: private chats carry the user's names, groups a title."""
    return compact(id=chat_id, type=chat_type, **fields)


def coerce_params(raw: Mapping[str, Any]) -> JSON:
    """Decode JSON-encoded values of non-String parameters (form, query or JSON bodies)."""
    out: JSON = {}
    for key, value in raw.items():
        if isinstance(value, str) and key not in STRING_PARAMS:
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        out[key] = value
    return out


class Params:
    """Typed access to one call's parameters, failing like the real API (400 Bad Request)."""

    def __init__(self, method: str, data: Mapping[str, Any]) -> None:
        self.method = method
        self.data = dict(data)

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def get(self, name: str, default: Any = None) -> Any:
        value = self.data.get(name)
        return default if value is None else value

    def get_int(
        self, name: str, *, required: bool = False, missing: str | None = None
    ) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(missing or f"{name} is empty")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise bad_request(f"invalid {name} specified")
        try:
            return int(value)
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def get_str(
        self, name: str, *, required: bool = False, missing: str | None = None
    ) -> str | None:
        value = self.data.get(name)
        if value is None or (required and value == ""):
            if required:
                raise bad_request(missing or f"{name} is empty")
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def get_list(self, name: str) -> list[Any] | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, list):
            raise bad_request(f'field "{name}" must be an Array')
        return value


def check_reply_markup(markup: Any, *, inline_only: bool = False) -> JSON | None:
    """Validate ``reply_markup``; return the InlineKeyboardMarkup a Message echoes, else None.

    Real errors bots hit: callback_data over 64 bytes (``BUTTON_DATA_INVALID``) and buttons
    without any action.
    """
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request('field "inline_keyboard" must be an Array of Arrays')
        return {"inline_keyboard": [[_inline_button(b) for b in row] for row in rows]}
    if inline_only:
        raise bad_request("only inline keyboards are allowed here")
    if "keyboard" in markup:
        if not isinstance(markup["keyboard"], list):
            raise bad_request('field "keyboard" must be an Array of Arrays')
    elif not (markup.get("remove_keyboard") or markup.get("force_reply")):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return None


def _inline_button(button: Any) -> JSON:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be a String')
    actions = [a for a in INLINE_BUTTON_ACTIONS if a in button]
    if len(actions) != 1:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if data is not None and (not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64):
        raise bad_request("BUTTON_DATA_INVALID")
    return {k: button[k] for k in INLINE_BUTTON_FIELDS if k in button}


def callback_data_of(markup: JSON | None) -> list[str]:
    """All callback_data values of an inline keyboard (what a user could press)."""
    rows = (markup or {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


def make_poll(
    poll_id: str,
    question: str,
    options: list[str],
    *,
    is_anonymous: bool,
    poll_type: str,
    allows_multiple_answers: bool,
    allows_revoting: bool,
    members_only: bool,
    is_closed: bool,
    correct_option_ids: list[int] | None,
    explanation: str | None,
    open_period: int | None,
    close_date: int | None,
) -> JSON:
    """``Poll`` with every field Bot API 10.x marks required (persistent_id, members_only...)."""
    return compact(
        id=poll_id,
        question=question,
        options=[
            {"persistent_id": option_persistent_id(i), "text": text, "voter_count": 0}
            for i, text in enumerate(options)
        ],
        total_voter_count=0,
        is_closed=is_closed,
        is_anonymous=is_anonymous,
        type=poll_type,
        allows_multiple_answers=allows_multiple_answers,
        allows_revoting=allows_revoting,
        members_only=members_only,
        correct_option_ids=correct_option_ids,
        explanation=explanation,
        open_period=open_period,
        close_date=close_date,
    )


def option_persistent_id(index: int) -> str:
    """Persistent option ids are opaque strings, deliberately unlike the 0-based option ids."""
    return f"opt-{index}"


def photo_sizes(file_stem: str, width: int, height: int) -> list[JSON]:
    """A ``PhotoSize`` list as Telegram sends it: thumbnails first, the original last."""
    sizes = []
    for i, side in enumerate((90, 320, 800)):
        if side >= max(width, height):
            break
        scale = side / max(width, height)
        sizes.append((f"{file_stem}-{i}", round(width * scale), round(height * scale)))
    sizes.append((f"{file_stem}-full", width, height))
    return [
        {
            "file_id": f"AgAC{stem}",
            "file_unique_id": f"AQAD{stem}",
            "file_size": max(w * h // 10, 1),
            "width": w,
            "height": h,
        }
        for stem, w, h in sizes
    ]
