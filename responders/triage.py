"""Between the case service and the staff console: cards out, staff actions in.

Outbox items of kind `card` and `note` are delivered here: the card is rendered from the case as
it is *now*, so a burst of changes ends with one accurate card. Staff actions from the console
come back here and become case operations.
"""

from __future__ import annotations

import logging
from typing import Any

from bots.base import StaffConsole
from responders.cards import case_card
from responders.cases import CaseError, CaseService
from responders.faq_admin import entry_from_form
from responders.knowledge import KnowledgeBase
from townhall.domain import SendError, StaffAction

log = logging.getLogger(__name__)


class Triage:
    def __init__(
        self, cases: CaseService, console: StaffConsole, categories: dict[str, str] | None = None,
        knowledge: KnowledgeBase | None = None,
    ):
        self.cases = cases
        self.console = console
        self.categories = categories or {}  # id -> name shown to staff
        self.knowledge = knowledge  # staff may add FAQ entries from a card when given

    async def deliver_card(self, payload: dict[str, Any]) -> str:
        view = await self.cases.view(int(payload["case_id"]))
        card = case_card(view, self.categories, faq=self.knowledge is not None)
        case = view.case
        if case.card_channel and case.card_ts:
            await self.console.update_card(case.card_channel, case.card_ts, card)
            return case.card_ts
        assert case.id is not None
        channel, ts = await self.console.post_card(card)
        await self.cases.set_card(case.id, channel, ts)
        return ts

    async def deliver_note(self, payload: dict[str, Any]) -> str:
        view = await self.cases.view(int(payload["case_id"]), history=0)
        case = view.case
        if not (case.card_channel and case.card_ts):
            raise SendError(f"case {case.id} has no card yet")
        author = "Citizen" if payload.get("author") == "citizen" else "Note"
        return await self.console.post_note(
            case.card_channel, case.card_ts, f"*{author}:* {payload['text']}"
        )

    async def deliver_notice(self, payload: dict[str, Any]) -> str:
        return await self.console.post_text(str(payload["text"]))

    async def handle(self, action: StaffAction) -> None:
        """Carry out a staff action. Raises `CaseError` with a message for the staff member."""
        if action.kind == "thread_reply":
            case = await self.cases.find_by_card(action.card_channel or "", action.card_ts or "")
            if case is None or case.id is None:
                return  # a thread that is not a case card: staff chatting among themselves
            await self.cases.reply(
                case.id, action.staff_id, action.text, idempotency_key=action.key
            )
            return
        if action.case_id is None:
            raise CaseError("This action does not name a case.")
        if action.kind == "claim":
            await self.cases.claim(action.case_id, action.staff_id)
        elif action.kind == "reply":
            await self.cases.reply(
                action.case_id, action.staff_id, action.text, idempotency_key=action.key
            )
        elif action.kind == "resolve":
            await self.cases.resolve(action.case_id, action.staff_id)
        elif action.kind == "recategorize":
            await self.cases.correct(action.case_id, action.staff_id, "category", action.text)
        elif action.kind == "sentiment":
            await self.cases.correct(action.case_id, action.staff_id, "sentiment", action.text)
        elif action.kind == "faq_add":
            await self._add_to_faq(action.case_id, action)
        else:
            raise CaseError(f"Unknown action {action.kind!r}.")

    async def _add_to_faq(self, case_id: int, action: StaffAction) -> None:
        """Store the entry (`FieldError` names the field to fix), then say so on the card."""
        if self.knowledge is None:
            raise CaseError("Adding to the FAQ is not available here.")
        view = await self.cases.view(case_id, history=0)
        entry = await self.knowledge.add(
            entry_from_form(action.text, view.case.category), action.staff_id
        )
        await self.cases.note(
            case_id, action.staff_id, "faq_added",
            f"Added to the FAQ as `{entry.id}` by <@{action.staff_id}>",
            detail=f"`{entry.id}`", idempotency_key=action.key,
        )
