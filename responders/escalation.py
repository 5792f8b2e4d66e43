"""The last responder: a message nobody could answer becomes a case for staff, or joins the open
case that is already about the same thing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from listening.trend_tables import pack_vector
from responders.abuse import is_abusive
from responders.cases import CaseService
from responders.chain import Reply, Turn
from responders.faq import FaqMatcher
from responders.texts import say
from townhall.domain import InboundMessage

if TYPE_CHECKING:
    from responders.case_merge import CaseMerger


class EscalationResponder:
    name = "escalation"

    def __init__(
        self, cases: CaseService, matcher: FaqMatcher | None = None, abuse_threshold: float = 0.8,
        merger: CaseMerger | None = None,
    ):
        self.cases = cases
        self.matcher = matcher
        self.abuse_threshold = abuse_threshold
        self.merger = merger  # None: every escalated message opens its own case

    async def respond(self, turn: Turn) -> Reply | None:
        message = turn.message
        if message is None or message.command:
            return None
        embedding = turn.classification.embedding
        suggestions = []
        if self.matcher is not None and embedding is not None:
            suggestions = [
                {"id": m.entry.id, "score": round(m.score, 3)}
                for m in self.matcher.rank(embedding, top=3)
            ]
        abusive = is_abusive(turn, self.abuse_threshold)
        if self.merger is not None and embedding is not None and not abusive:
            joined = await self._join_duplicate(turn, message, np.asarray(embedding))
            if joined is not None:
                return joined
        return await self.open_case(
            turn, message_id=turn.message_id, summary=message.text, suggestions=suggestions,
            labels=turn.classification.labels, abusive=abusive,
        )

    async def _join_duplicate(
        self, turn: Turn, message: InboundMessage, vector: np.ndarray
    ) -> Reply | None:
        assert self.merger is not None
        pin = next((a for a in message.attachments if a.kind == "location"), None)
        where = (pin.latitude, pin.longitude) if pin else await self.cases.pending_location(
            turn.citizen_id
        )
        case = await self.merger.find_duplicate(
            vector=vector, category=turn.classification.labels.get("category"),
            latitude=where[0] if where else None, longitude=where[1] if where else None,
        )
        if case is None or case.id is None:
            return None
        await self.merger.join(
            case.id, citizen_id=turn.citizen_id, message_id=turn.message_id,
            address=message.private_address or message.address, language=turn.language,
            text=message.text,
        )
        return Reply(say("case_joined", turn.language, ref=case.reference), self.name,
                     case_id=case.id, private=True)

    async def open_case(
        self, turn: Turn, *, message_id: int, summary: str, suggestions: list[dict],
        labels: dict[str, str], abusive: bool = False, responder: str | None = None,
    ) -> Reply:
        """Open the case for the citizen's message `message_id` (once: a second call finds it)
        and tell them its number. Asked in public, the answer and staff replies go private."""
        event = turn.event
        private_address = event.private_address if isinstance(event, InboundMessage) else None
        embedding = turn.classification.embedding
        case = await self.cases.open(
            message_id=message_id,
            citizen_id=turn.citizen_id,
            conversation_id=turn.conversation_id,
            address=private_address or event.address,
            summary=summary,
            language=turn.language,
            suggestions=suggestions,
            labels=labels,
            abusive=abusive,
            vector=pack_vector(embedding) if embedding is not None else None,
        )
        return Reply(
            say("case_opened", turn.language, ref=case.reference), responder or self.name,
            case_id=case.id, private=True,
        )
