"""The FAQ's buttons, built from ids only (see `responders.faq_dialogue` for the presses)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from responders.texts import say
from townhall.domain import Button

if TYPE_CHECKING:
    from responders.faq import FaqEntry

PICK = "faq_pick"
HELP = "faq_help"
LABEL_LIMIT = 60  # a button label longer than this is cut (Telegram shows about this much)


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if number == 0:
            return text


def help_buttons(message_id: int, entry_id: str, language: str) -> tuple[Button, ...]:
    ref = f"{_b36(message_id)}.{entry_id}"
    return (
        Button(say("faq_yes", language), HELP, f"y.{ref}"),
        Button(say("faq_no", language), HELP, f"n.{ref}"),
    )


def pick_buttons(message_id: int, entries: list[FaqEntry], language: str) -> tuple[Button, ...]:
    ref = _b36(message_id)
    buttons = [Button(_label(entry, language), PICK, f"{ref}.{entry.id}") for entry in entries]
    buttons.append(Button(say("faq_none_of_these", language), PICK, f"{ref}."))
    return tuple(buttons)


def _label(entry: FaqEntry, language: str) -> str:
    translated = entry.translations.get(language, {}).get("questions") or []
    question = str(translated[0]) if translated else entry.questions[0]
    return question if len(question) <= LABEL_LIMIT else question[: LABEL_LIMIT - 1] + "…"
