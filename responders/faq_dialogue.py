"""Presses of the FAQ's buttons ("Which of these did you mean?", "Did this help?"); the buttons
themselves are built in `responders.faq_buttons`.

Buttons carry ids, never data: the citizen's message id (base 36, to stay inside Telegram's
64-byte callback limit) and the entry id. A press is checked against the citizen who pressed it,
so a forged button cannot rate or escalate someone else's message.

- `faq_pick` `<message>.<entry>`: the citizen chose an entry from an ambiguous match; they get its
  answer. `<message>.` (no entry) means "none of these": the question goes to staff.
- `faq_help` `<y|n>.<message>.<entry>`: counted once per answered message; "No" opens a case with
  the question and the answer that did not help, so staff see what the bot already said.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from listening.models import Message
from responders.chain import Reply, Turn
from responders.escalation import EscalationResponder
from responders.faq import FaqEntry
from responders.faq_buttons import HELP, PICK
from responders.faq_store import record_feedback
from responders.texts import say
from townhall.db import Database


@dataclass(frozen=True)
class _Question:
    message_id: int
    text: str
    labels: dict[str, str]


class FaqDialogueResponder:
    """Handles presses of the FAQ's buttons; everything else passes through."""

    name = "faq_dialogue"

    def __init__(
        self,
        db: Database,
        escalation: EscalationResponder,
        entry: Callable[[str], FaqEntry | None],
        answer: Callable[[FaqEntry, str, int], Reply],
    ):
        self.db = db
        self.escalation = escalation
        self.entry = entry  # entry id -> entry, from the live knowledge base
        self.answer = answer  # (entry, language, question's message id) -> the answer reply

    async def respond(self, turn: Turn) -> Reply | None:
        press = turn.press
        if press is None or press.action not in (PICK, HELP):
            return None
        if press.action == PICK:
            ref, _, entry_id = press.value.partition(".")
            helpful = None
        else:
            verdict, _, rest = press.value.partition(".")
            ref, _, entry_id = rest.partition(".")
            helpful = verdict == "y"
        question = await self._question(ref, turn.citizen_id)
        if question is None:
            return None  # not this citizen's message, or a malformed button: ignore the press
        entry = self.entry(entry_id) if entry_id else None
        if press.action == PICK:
            if entry is None or entry.escalate:  # "none of these", or "talk to a person"
                return await self._escalate(turn, question, None)
            return self.answer(entry, turn.language, question.message_id)
        if entry is None:
            return None
        await self.db.run(
            lambda s: record_feedback(
                s, entry_id=entry.id, citizen_id=turn.citizen_id,
                message_id=question.message_id, helpful=bool(helpful),
            )
        )
        if helpful:
            return Reply(say("faq_thanks", turn.language), self.name)
        return await self._escalate(turn, question, entry)

    async def _question(self, ref: str, citizen_id: int) -> _Question | None:
        try:
            message_id = int(ref, 36)
        except ValueError:
            return None

        def work(session: Session) -> _Question | None:
            message = session.get(Message, message_id)
            if message is None or message.citizen_id != citizen_id:
                return None
            labels = (message.classification or {}).get("labels") or {}
            return _Question(message_id, message.text, dict(labels))

        return await self.db.run(work)

    async def _escalate(self, turn: Turn, question: _Question, given: FaqEntry | None) -> Reply:
        summary = question.text
        suggestions = []
        if given is not None:
            summary += f"\n\n(FAQ answer given: `{given.id}`; the citizen said it did not help.)"
            suggestions = [{"id": given.id, "score": None, "given": True}]
        return await self.escalation.open_case(
            turn, message_id=question.message_id, summary=summary, suggestions=suggestions,
            labels=question.labels, responder=self.name,
        )
