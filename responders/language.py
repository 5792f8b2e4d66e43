"""`/language`: a citizen chooses the language the bot answers in; the choice is remembered."""

from __future__ import annotations

from sqlmodel import Session

from listening.models import Citizen
from responders.chain import Reply, Turn
from responders.texts import LANGUAGES, say
from townhall.db import Database
from townhall.domain import Button

NAMES = {"en": "English", "es": "Español", "fr": "Français"}
ACTION = "language"


def set_language(session: Session, citizen_id: int, language: str) -> None:
    citizen = session.get(Citizen, citizen_id)
    if citizen is not None:
        citizen.language = language
        session.add(citizen)


class LanguageResponder:
    name = "language"

    def __init__(self, db: Database):
        self.db = db

    async def respond(self, turn: Turn) -> Reply | None:
        if turn.press is not None and turn.press.action == ACTION:
            return await self._choose(turn, turn.press.value)
        message = turn.message
        if message is None or message.command != "language":
            return None
        choice = message.args.strip().lower()[:2]
        if choice in LANGUAGES:
            return await self._choose(turn, choice)
        buttons = tuple(Button(NAMES[code], ACTION, code) for code in LANGUAGES)
        return Reply(say("language_choose", turn.language), self.name, buttons)

    async def _choose(self, turn: Turn, language: str) -> Reply | None:
        if language not in LANGUAGES:
            return None
        await self.db.run(set_language, turn.citizen_id, language)
        return Reply(say("language_set", language, name=NAMES[language]), self.name)
