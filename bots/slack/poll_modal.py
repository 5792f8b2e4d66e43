"""The "New poll" modal `/townhall poll` opens, and reading it back.

Pure functions, like `blocks.py`: the form is question, options (one per line), audience (a
topic's subscribers or a Telegram group), how long it stays open, and whether to tell the
audience the result. What the staff member typed comes back as a neutral `PollForm`; the
composition root turns it into a poll.
"""

from __future__ import annotations

from typing import Any

from bots.slack.blocks import _text_input
from townhall.domain import PollForm

POLL_MODAL = "poll_new_modal"
BLOCKS = {"question": "poll_question", "options": "poll_options", "audience": "poll_audience",
          "group": "poll_group", "duration": "poll_duration", "announce": "poll_announce"}
GROUP = "group"
DURATIONS = (("1 hour", 1), ("6 hours", 6), ("1 day", 24), ("3 days", 72), ("1 week", 168))
DEFAULT_HOURS = 24.0


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label[:75]}, "value": value}


def poll_modal(topics: dict[str, str]) -> dict[str, Any]:
    """The form; `topics` is id -> name of the city's subscription topics."""
    audiences = [_option(f"Subscribers: {name}", f"topic:{tid}") for tid, name in topics.items()]
    audiences.append(_option("A Telegram group (chat id below)", GROUP))
    return {
        "type": "modal",
        "callback_id": POLL_MODAL,
        "title": {"type": "plain_text", "text": "New poll"},
        "submit": {"type": "plain_text", "text": "Send poll"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _text_input(BLOCKS["question"], "Question", "", limit=300, multiline=False,
                        hint="Short and neutral; at most 300 characters."),
            _text_input(BLOCKS["options"], "Options", "", limit=1100, multiline=True,
                        hint="One per line, 2 to 10, each at most 100 characters."),
            {
                "type": "input", "block_id": BLOCKS["audience"],
                "label": {"type": "plain_text", "text": "Who is asked"},
                "element": {"type": "static_select", "action_id": BLOCKS["audience"],
                            "options": audiences[:100]},
            },
            {**_text_input(BLOCKS["group"], "Telegram group chat id", "", limit=32,
                           multiline=False, hint="Only for a Telegram group, e.g. -1001234567890."),
             "optional": True},
            {
                "type": "input", "block_id": BLOCKS["duration"],
                "label": {"type": "plain_text", "text": "Open for"},
                "element": {"type": "static_select", "action_id": BLOCKS["duration"],
                            "initial_option": _option("1 day", "24"),
                            "options": [_option(label, str(h)) for label, h in DURATIONS]},
            },
            {
                "type": "input", "block_id": BLOCKS["announce"], "optional": True,
                "label": {"type": "plain_text", "text": "At close"},
                "element": {"type": "checkboxes", "action_id": BLOCKS["announce"],
                            "options": [_option("Tell everyone asked the result", "yes")]},
            },
        ],
    }


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def read_poll_form(values: dict[str, dict[str, dict[str, Any]]]) -> PollForm:
    """The submitted state (`view.state.values`) as a `PollForm`.

    Never raises: a field of another shape than Slack's reads as empty (and the poll service
    then names what is missing), and a duration the form does not offer as the default day,
    so a stale or tampered form is refused next to its fields, not with a crash.
    """

    def element(name: str) -> dict[str, Any]:
        return _object(_object(_object(values).get(BLOCKS[name])).get(BLOCKS[name]))

    def chosen(name: str) -> str:
        return _text(_object(element(name).get("selected_option")).get("value"))

    audience = chosen("audience")
    if audience == GROUP:
        audience = f"group:{_text(element('group').get('value')).strip()}"
    offered = {str(hours): float(hours) for _, hours in DURATIONS}
    return PollForm(
        question=_text(element("question").get("value")).strip(),
        options=[
            line.strip()
            for line in _text(element("options").get("value")).splitlines()
            if line.strip()
        ],
        audience=audience,
        hours=offered.get(chosen("duration"), DEFAULT_HOURS),
        announce_result=bool(element("announce").get("selected_options")),
    )
