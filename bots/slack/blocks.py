"""Rendering neutral cards as Block Kit, and the reply and "Add to FAQ" modals.

Pure functions: what Slack shows is decided here and nowhere else, so it can be tested without
a network. Text from citizens is escaped, so that `<!channel>` or `<@U123>` in a citizen's message
cannot ping anyone in the staff workspace.
"""

from __future__ import annotations

import re
from typing import Any

from townhall.domain import Card, FaqDraft

REPLY_MODAL = "case_reply_modal"
REPLY_BLOCK = "reply"
REPLY_INPUT = "text"
FAQ_MODAL = "case_faq_modal"
# form field -> block_id (also its input's action_id): the field names a `FieldError` reports
FAQ_BLOCKS = {"question": "question", "answer": "answer", "id": "id"}
# what a plain_text_input accepts; the FAQ store checks its own limits again
INPUT_LIMIT = 3000
FAQ_ANSWER_LIMIT = 2000
FAQ_ID_LIMIT = 64

# Block Kit limits: a section's text is at most 3000 characters, a field 2000, a header 150.
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
HEADER_LIMIT = 150


def escape(text: str) -> str:
    """Escape Slack's control characters in mrkdwn (&, <, >)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape_clipped(text: str, limit: int) -> str:
    """`escape(text)` in at most `limit` characters: a cut never leaves half an entity
    (`&am…`), which Slack would show as typed."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    return re.sub(r"&[a-z]*$", "", escaped[: limit - 1]) + "…"


def card_blocks(card: Card) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(card.title, HEADER_LIMIT)}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": ">" + escape_clipped(card.text, SECTION_LIMIT - 1)},
        },
    ]
    if card.mention:  # staff's own mention syntax, so not escaped
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": card.mention}]})
    if card.fields:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": _clip(f"*{f.label}*\n{f.value}", FIELD_LIMIT)}
                    for f in card.fields[:10]
                ],
            }
        )
    for heading, body in card.sections:
        text = f"*{heading}*\n{body}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, 3000)}})
    elements: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": button.action,
            "text": {"type": "plain_text", "text": button.label},
            "value": button.value,
            **({"style": "primary"} if button.action == "case_claim" else {}),
        }
        for button in card.buttons
    ]
    elements += [
        {
            "type": "static_select",
            "action_id": select.action,
            "placeholder": {"type": "plain_text", "text": select.placeholder},
            "options": [
                {
                    "text": {"type": "plain_text", "text": _clip(label, 75)},
                    "value": f"{select.case_id}:{value}",
                }
                for label, value in select.options[:100]
            ],
        }
        for select in card.selects
    ]
    if elements:
        blocks.append({"type": "actions", "block_id": "case_actions", "elements": elements})
    if card.footer:  # a context element holds 3000 characters, like a section
        footer = escape_clipped(card.footer, SECTION_LIMIT)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    return blocks


def card_fallback_text(card: Card) -> str:
    """The plain text Slack shows in notifications and to screen readers. Slack reads a
    message's `text` as mrkdwn even next to blocks, so the citizen's words are escaped here
    as on the card: unescaped, a `<!channel>` in them notified the whole channel."""
    return escape_clipped(f"{card.title}: {card.text}", 300)


REPLY_THEN_BLOCK = "then"
REPLY_THEN = {
    "open": "Keep the case open",
    "waiting": "Wait for the citizen's answer",
    "resolve": "Resolve the case",
}


def reply_modal(case_id: int, reference: str = "", text: str = "") -> dict[str, Any]:
    """The Reply form; `text` prefills it (a saved reply staff can edit before sending)."""
    options = [
        {"text": {"type": "plain_text", "text": label}, "value": value}
        for value, label in REPLY_THEN.items()
    ]
    return {
        "type": "modal",
        "callback_id": REPLY_MODAL,
        "private_metadata": str(case_id),
        "title": {"type": "plain_text", "text": "Reply to citizen"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _text_input(
                REPLY_BLOCK, f"Your reply {reference}".strip(), text, limit=INPUT_LIMIT,
                multiline=True, hint="Sent to every reporter on the channel they wrote from.",
                action_id=REPLY_INPUT,
            ),
            {
                "type": "input",
                "block_id": REPLY_THEN_BLOCK,
                "label": {"type": "plain_text", "text": "Then"},
                "element": {
                    "type": "radio_buttons", "action_id": REPLY_THEN_BLOCK,
                    "options": options, "initial_option": options[0],
                },
            },
        ],
    }


def _text_input(
    block_id: str, label: str, value: str, *, limit: int, multiline: bool, hint: str,
    action_id: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_id or block_id,
        "multiline": multiline,
        "max_length": limit,
    }
    if value:  # Slack shows it and submits it unless staff change it
        element["initial_value"] = value[:limit]
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": element,
        "hint": {"type": "plain_text", "text": hint},
    }


def faq_modal(case_id: int, draft: FaqDraft) -> dict[str, Any]:
    """The "Add to FAQ" form, prefilled from the case; `private_metadata` names the case."""
    return {
        "type": "modal",
        "callback_id": FAQ_MODAL,
        "private_metadata": str(case_id),
        "title": {"type": "plain_text", "text": "Add to FAQ"},
        "submit": {"type": "plain_text", "text": "Add"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _text_input(
                FAQ_BLOCKS["question"], "Question", draft.question, limit=INPUT_LIMIT,
                multiline=True,
                hint="How a resident would ask it; the bot matches messages like this one.",
            ),
            _text_input(
                FAQ_BLOCKS["answer"], "Answer", draft.answer, limit=FAQ_ANSWER_LIMIT,
                multiline=True, hint="Sent to every resident who asks this; 1-4 sentences.",
            ),
            _text_input(
                FAQ_BLOCKS["id"], "Id", draft.entry_id, limit=FAQ_ID_LIMIT, multiline=False,
                hint="Lowercase letters, digits and hyphens. Statistics use it: keep it stable.",
            ),
        ],
    }
