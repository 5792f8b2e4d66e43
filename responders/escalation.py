"""The last responder: a message nobody could answer becomes a case for staff, or joins the open
case that is already about the same thing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sqlmodel import Session

from listening.trend_tables import pack_vector
from responders.abuse import is_abusive
from responders.cases import CaseService, pending_location
from responders.chain import Reply, Turn
from responders.faq import FaqMatcher
from responders.models import Case
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
        case_fields = self._case_fields(
            turn, message_id=turn.message_id, summary=message.text, suggestions=suggestions,
            labels=turn.classification.labels, abusive=abusive,
        )
        merger = self.merger if embedding is not None and not abusive else None
        if merger is not None and merger.rule is None:  # never joins: nothing to look up
            merger = None

        def work(session: Session) -> tuple[Case, bool]:
            """Join the open case this report duplicates, or open one, in one transaction
            (the pending pin, the duplicate check and the write): as three, every escalated
            message paid three transactions and three trips to the database thread."""
            if merger is not None:
                joined = self._join_duplicate_in(session, merger, turn, message,
                                                 np.asarray(embedding))
                if joined is not None:
                    return joined, True
            return self.cases.open_in(session, **case_fields), False

        case, joined = await self.cases.db.run(work)
        self.cases.outbox.wake()
        if joined:
            return Reply(say("case_joined", turn.language, ref=case.reference), self.name,
                         case_id=case.id, private=True)
        return self._opened(turn, case)

    def _join_duplicate_in(
        self, session: Session, merger: CaseMerger, turn: Turn, message: InboundMessage,
        vector: np.ndarray,
    ) -> Case | None:
        pin = next((a for a in message.attachments if a.kind == "location"), None)
        where = (pin.latitude, pin.longitude) if pin else pending_location(
            session, turn.citizen_id)
        case = merger.find_duplicate_in(
            session, vector=vector, category=turn.classification.labels.get("category"),
            latitude=where[0] if where else None, longitude=where[1] if where else None,
        )
        if case is None or case.id is None:
            return None
        return merger.join_in(
            session, case.id, citizen_id=turn.citizen_id, message_id=turn.message_id,
            address=message.private_address or message.address, language=turn.language,
            text=message.text,
        )

    async def open_case(
        self, turn: Turn, *, message_id: int, summary: str, suggestions: list[dict],
        labels: dict[str, str], abusive: bool = False, responder: str | None = None,
    ) -> Reply:
        """Open the case for the citizen's message `message_id` (once: a second call finds it)
        and tell them its number. Asked in public, the answer and staff replies go private."""
        case = await self.cases.open(**self._case_fields(
            turn, message_id=message_id, summary=summary, suggestions=suggestions,
            labels=labels, abusive=abusive,
        ))
        return self._opened(turn, case, responder)

    @staticmethod
    def _case_fields(
        turn: Turn, *, message_id: int, summary: str, suggestions: list[dict],
        labels: dict[str, str], abusive: bool,
    ) -> dict[str, Any]:
        """What `CaseService.open` needs to open the case for a message of this turn."""
        event = turn.event
        private_address = event.private_address if isinstance(event, InboundMessage) else None
        embedding = turn.classification.embedding
        return {
            "message_id": message_id, "citizen_id": turn.citizen_id,
            "conversation_id": turn.conversation_id,
            "address": private_address or event.address, "summary": summary,
            "language": turn.language, "suggestions": suggestions, "labels": labels,
            "abusive": abusive,
            "vector": pack_vector(embedding) if embedding is not None else None,
        }

    def _opened(self, turn: Turn, case: Case, responder: str | None = None) -> Reply:
        return Reply(
            say("case_opened", turn.language, ref=case.reference), responder or self.name,
            case_id=case.id, private=True,
        )
