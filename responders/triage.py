"""Between the case service and the staff console: cards out, staff actions in.

Outbox items about cases are delivered here: the card is rendered from the case as it is *now*,
so a burst of changes ends with one accurate card, posted in the channel of the case's queue.
Staff actions from the console come back here and become case operations, after checking that
the staff member works on that queue.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bots.base import StaffConsole
from responders.blocking import CitizenBlocks
from responders.canned import CannedReplies
from responders.cards import CardContext, case_card
from responders.case_merge import CaseMerger
from responders.case_records import get_case
from responders.cases import CaseError, CaseService
from responders.faq_admin import entry_from_form
from responders.knowledge import KnowledgeBase
from responders.models import CaseAttachment
from responders.queues import mention
from townhall.domain import Card, CardField, SendError, StaffAction
from townhall.redact import redact_personal

log = logging.getLogger(__name__)

# (channel name, file ref, max bytes) -> the file's bytes, from the platform it was shared on
FetchFile = Callable[[str, str, int], Awaitable[bytes]]


class Triage:
    def __init__(
        self, cases: CaseService, console: StaffConsole, categories: dict[str, str] | None = None,
        knowledge: KnowledgeBase | None = None, *, merger: CaseMerger | None = None,
        canned: CannedReplies | None = None, fetch_file: FetchFile | None = None,
        max_photo_bytes: int = 10_000_000, max_attachments: int = 10, redact: bool = False,
    ):
        self.cases = cases
        self.console = console
        self.knowledge = knowledge  # staff may add FAQ entries from a card when given
        self.merger = merger or CaseMerger(cases, None)
        self.canned = canned
        self.blocks = CitizenBlocks(cases.db, cases.outbox)
        self.fetch_file = fetch_file
        self.max_photo_bytes = max_photo_bytes
        self.max_attachments = max_attachments
        self.context = CardContext(
            categories=categories or {}, queues=tuple(cases.queues.all()),
            canned=canned.choices() if canned else (), calendar=cases.calendar,
            faq=knowledge is not None, redact=redact,
        )

    # --- deliveries -----------------------------------------------------------------------------

    async def deliver_card(self, payload: dict[str, Any]) -> str:
        view = await self.cases.view(int(payload["case_id"]))
        card = case_card(view, context=self.context)
        case = view.case
        if case.card_channel and case.card_ts:
            await self.console.update_card(case.card_channel, case.card_ts, card)
            return case.card_ts
        assert case.id is not None
        queue = self.cases.queues.get(case.queue)
        channel, ts = await self.console.post_card(card, queue.channel or None)
        await self.cases.set_card(case.id, channel, ts)
        return ts

    async def deliver_card_moved(self, payload: dict[str, Any]) -> str:
        """The card a moved case leaves behind says where the case went."""
        view = await self.cases.view(int(payload["case_id"]), history=0)
        card = Card(
            title=f"{view.case.reference} · moved to {payload['queue']}",
            text=view.case.summary[:300],
            fields=(CardField("Now in", f"<#{payload['to']}>"),),
        )
        await self.console.update_card(str(payload["channel"]), str(payload["ts"]), card)
        return str(payload["ts"])

    async def deliver_note(self, payload: dict[str, Any]) -> str:
        view = await self.cases.view(int(payload["case_id"]), history=0)
        case = view.case
        if not (case.card_channel and case.card_ts):
            raise SendError(f"case {case.id} has no card yet")
        if payload.get("author") == "citizen":
            return await self.console.post_note(
                case.card_channel, case.card_ts, "*Citizen:*",
                quoted=redact_personal(str(payload["text"])) if self.context.redact
                else str(payload["text"]),
            )
        return await self.console.post_note(
            case.card_channel, case.card_ts, f"*Note:* {payload['text']}"
        )

    async def deliver_notice(self, payload: dict[str, Any]) -> str:
        return await self.console.post_text(str(payload["text"]))

    async def deliver_photo(self, payload: dict[str, Any]) -> str:
        """A citizen's photo, fetched from their platform and shared in the card's thread."""
        attachment: CaseAttachment | None = await self.cases.db.run(
            lambda s: s.get(CaseAttachment, int(payload["attachment_id"]))
        )
        if attachment is None or attachment.case_id is None or self.fetch_file is None:
            return ""
        view = await self.cases.view(attachment.case_id, history=0)
        case = view.case
        photos = [a.id for a in view.attachments if a.kind == "photo"]
        if attachment.id in photos[self.max_attachments:]:
            return ""  # past the per-case limit: kept by reference, not shown
        if not (case.card_channel and case.card_ts):
            raise SendError(f"case {case.id} has no card yet")
        content = await self.fetch_file(attachment.channel, attachment.ref, self.max_photo_bytes)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{case.reference}-photo-{attachment.id}.jpg"
            path.write_bytes(content)
            return await self.console.upload_file(
                path, channel=case.card_channel, title=f"Photo from the citizen ({case.reference})",
                thread_ts=case.card_ts,
            )

    async def deliver_sla_notice(self, payload: dict[str, Any]) -> str:
        """Re-announce an unclaimed case past its first-response time, or escalate it to the
        queue's lead, in the queue's channel."""
        view = await self.cases.view(int(payload["case_id"]), history=0)
        case = view.case
        queue = self.cases.queues.get(case.queue)
        summary = case.summary if len(case.summary) <= 200 else case.summary[:199] + "…"
        if int(payload["stage"]) >= 2:
            who = mention(queue.lead) or mention(queue.mention)
            text = (f":rotating_light: {who} Escalation: {case.reference} is still unclaimed "
                    f"well past its first-response time. “{summary}”")
        else:
            who = mention(queue.mention)
            text = (f":alarm_clock: {who} {case.reference} has passed its first-response time "
                    f"and nobody has claimed it yet. “{summary}”")
        section = {"type": "section", "text": {"type": "mrkdwn", "text": text.strip()}}
        _, ts = await self.console.post_blocks(text, [section], queue.channel or None)
        return ts

    # --- staff actions ----------------------------------------------------------------------------

    async def handle(self, action: StaffAction) -> None:
        """Carry out a staff action. Raises `CaseError` with a message for the staff member."""
        if action.kind == "thread_reply":
            channel, ts = action.card_channel or "", action.card_ts or ""
            case = await self.cases.find_by_card(channel, ts)
            if case is None:  # a card whose ts is not (or not yet) recorded: ask the card
                case_id = await self.console.case_of_card(channel, ts)
                case = (await self.cases.view(case_id, history=0)).case if case_id else None
            if case is None or case.id is None:
                return  # a thread that is not a case card: staff chatting among themselves
            self._check_queue(case.queue, action.staff_id)
            await self.cases.reply(
                case.id, action.staff_id, action.text, idempotency_key=action.key
            )
            return
        if action.case_id is None:
            raise CaseError("This action does not name a case.")
        case_id = action.case_id
        queue = await self.cases.db.run(lambda session: get_case(session, case_id).queue)
        self._check_queue(queue, action.staff_id)
        staff = action.staff_id
        if action.kind == "claim":
            await self.cases.claim(case_id, staff)
        elif action.kind == "reply":
            await self.cases.reply(case_id, staff, action.text, idempotency_key=action.key,
                                   then=action.follow_up)
        elif action.kind == "resolve":
            await self.cases.resolve(case_id, staff)
        elif action.kind == "recategorize":
            await self.cases.correct(case_id, staff, "category", action.text)
        elif action.kind == "sentiment":
            await self.cases.correct(case_id, staff, "sentiment", action.text)
        elif action.kind == "move":
            await self.cases.move(case_id, staff, action.text)
        elif action.kind == "merge":
            await self.merger.merge(case_id, _int(action.text), staff)
        elif action.kind == "split":
            await self.merger.split(case_id, _int(action.text), staff)
        elif action.kind == "block":
            await self.blocks.set_blocked(case_id, staff, True)
        elif action.kind == "faq_add":
            await self._add_to_faq(case_id, action)
        else:
            raise CaseError(f"Unknown action {action.kind!r}.")

    def _check_queue(self, queue_id: str, staff_id: str) -> None:
        queue = self.cases.queues.get(queue_id)
        if not queue.may_act(staff_id):
            raise CaseError(f"Cases in the {queue.name} queue are handled by its own team.")

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


def _int(text: str) -> int:
    if not text.strip().isdigit():
        raise CaseError(f"{text!r} does not name a case or a message.")
    return int(text)
