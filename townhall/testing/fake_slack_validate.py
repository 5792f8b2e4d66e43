"""Block Kit and view checks the fake applies before storing anything.

Real Slack rejects malformed blocks with ``invalid_blocks`` and malformed modals with
``invalid_arguments`` (plus ``[ERROR] ... [json-pointer:...]`` messages). Reproducing the common
limits here makes bot bugs (a 30-character modal title, an empty section, duplicate action_ids)
fail in tests instead of in production. The limits are the documented Block Kit ones.
"""

from __future__ import annotations

from typing import Any

KNOWN_BLOCKS = {
    "actions",
    "context",
    "context_actions",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "table",
    "video",
}
MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100


class ApiError(Exception):
    """A Slack error response: HTTP 200 with ``{"ok": false, "error": code, ...}``."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body Slack would send."""
        return {"ok": False, "error": self.code, **self.extra}


class _Checker:
    """Collects Slack-style error strings with JSON pointers."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, pointer: str, problem: str) -> None:
        self.errors.append(f"{problem} [json-pointer:{pointer}]")

    def text(self, obj: Any, pointer: str, *, limit: int, plain_only: bool = False) -> None:
        if not isinstance(obj, dict):
            self.fail(pointer, "must provide an object")
            return
        kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if obj.get("type") not in kinds:
            self.fail(f"{pointer}/type", f"must be one of {list(kinds)}")
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.fail(f"{pointer}/text", "must be more than 0 characters")
        elif len(text) > limit:
            self.fail(f"{pointer}/text", f"must be less than {limit + 1} characters")

    def element(self, element: Any, pointer: str, action_ids: set[str]) -> None:
        if not isinstance(element, dict) or not isinstance(element.get("type"), str):
            self.fail(pointer, "must provide an object with a type")
            return
        action_id = element.get("action_id")
        if action_id is not None:
            if not isinstance(action_id, str) or len(action_id) > 255:
                self.fail(f"{pointer}/action_id", "must be a string of at most 255 characters")
            elif action_id in action_ids:
                self.fail(f"{pointer}/action_id", "action_id already exists")
            action_ids.add(str(action_id))
        if element["type"] == "plain_text_input":
            self.text_input(element, pointer)
        if element["type"] == "button":
            self.text(element.get("text"), f"{pointer}/text", limit=75, plain_only=True)
            value = element.get("value")
            if value is not None and (not isinstance(value, str) or len(value) > 2000):
                self.fail(f"{pointer}/value", "must be a string of at most 2000 characters")
            style = element.get("style")
            if style is not None and style not in ("primary", "danger"):
                self.fail(f"{pointer}/style", "must be one of [primary, danger]")

    def text_input(self, element: dict[str, Any], pointer: str) -> None:
        """plain_text_input: min_length 0-3000, max_length 1-3000, a string initial_value."""
        for key, low in (("min_length", 0), ("max_length", 1)):
            limit = element.get(key)
            if limit is not None and (
                not isinstance(limit, int) or isinstance(limit, bool) or not low <= limit <= 3000
            ):
                self.fail(f"{pointer}/{key}", f"must be an integer from {low} to 3000")
        initial = element.get("initial_value")
        if initial is not None and not isinstance(initial, str):
            self.fail(f"{pointer}/initial_value", "must be a string")

    def block(self, block: Any, pointer: str, block_ids: set[str], action_ids: set[str]) -> None:
        if not isinstance(block, dict) or block.get("type") not in KNOWN_BLOCKS:
            self.fail(pointer, "must provide a known block type")
            return
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not block_id or len(block_id) > 255:
                self.fail(f"{pointer}/block_id", "must be 1 to 255 characters")
            elif block_id in block_ids:
                self.fail(f"{pointer}/block_id", "block_id already exists")
            block_ids.add(str(block_id))
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                self.fail(pointer, "must provide text or fields")
            if "text" in block:
                self.text(block["text"], f"{pointer}/text", limit=3000)
            for i, item in enumerate(block.get("fields") or []):
                self.text(item, f"{pointer}/fields/{i}", limit=2000)
            if "accessory" in block:
                self.element(block["accessory"], f"{pointer}/accessory", action_ids)
        elif kind == "header":
            self.text(block.get("text"), f"{pointer}/text", limit=150, plain_only=True)
        elif kind in ("actions", "context"):
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
                self.fail(f"{pointer}/elements", "must provide 1 to 25 elements")
                return
            for i, element in enumerate(elements):
                if kind == "actions":
                    self.element(element, f"{pointer}/elements/{i}", action_ids)
        elif kind == "input":
            self.text(block.get("label"), f"{pointer}/label", limit=2000, plain_only=True)
            self.element(block.get("element"), f"{pointer}/element", action_ids)


def block_errors(
    blocks: Any, *, limit: int = MESSAGE_BLOCK_LIMIT, pointer: str = "/blocks"
) -> list[str]:
    """Slack-style error strings for a blocks array (empty list when valid)."""
    checker = _Checker()
    if not isinstance(blocks, list):
        checker.fail(pointer, "must provide an array")
        return checker.errors
    if len(blocks) > limit:
        checker.fail(pointer, f"must provide no more than {limit} items")
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for i, block in enumerate(blocks):
        checker.block(block, f"{pointer}/{i}", block_ids, action_ids)
    return checker.errors


def view_errors(view: Any) -> list[str]:
    """Slack-style error strings for a modal view definition."""
    checker = _Checker()
    if not isinstance(view, dict):
        checker.fail("/view", "must provide an object")
        return checker.errors
    if view.get("type") != "modal":
        checker.fail("/view/type", "must be modal")
    checker.text(view.get("title"), "/view/title", limit=24, plain_only=True)
    for key in ("submit", "close"):
        if view.get(key) is not None:
            checker.text(view[key], f"/view/{key}", limit=24, plain_only=True)
    blocks = view.get("blocks")
    checker.errors.extend(block_errors(blocks, limit=VIEW_BLOCK_LIMIT, pointer="/view/blocks"))
    has_input = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if has_input and view.get("submit") is None:
        checker.fail("/view/submit", "must provide submit when input blocks are present")
    metadata = view.get("private_metadata", "")
    if not isinstance(metadata, str) or len(metadata) > 3000:
        checker.fail("/view/private_metadata", "must be a string of at most 3000 characters")
    callback_id = view.get("callback_id", "")
    if not isinstance(callback_id, str) or len(callback_id) > 255:
        checker.fail("/view/callback_id", "must be a string of at most 255 characters")
    return checker.errors
