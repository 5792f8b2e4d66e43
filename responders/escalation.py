"""The last responder: a message nobody could answer becomes a case for staff."""

from __future__ import annotations

from responders.abuse import is_abusive
from responders.cases import CaseService
from responders.chain import Reply, Turn
from responders.faq import FaqMatcher
from responders.texts import say
from townhall.domain import InboundMessage


class EscalationResponder:
    name = "escalation"

    def __init__(
        self, cases: CaseService, matcher: FaqMatcher | None = None, abuse_threshold: float = 0.8
    ):
        self.cases = cases
        self.matcher = matcher
        self.abuse_threshold = abuse_threshold

    async def respond(self, turn: Turn) -> Reply | None:
        message = turn.message
        if message is None or message.command:
            return None
        suggestions = []
        if self.matcher is not None and turn.classification.embedding is not None:
            suggestions = [
                {"id": m.entry.id, "score": round(m.score, 3)}
                for m in self.matcher.rank(turn.classification.embedding, top=3)
            ]
        return await self.open_case(
            turn, message_id=turn.message_id, summary=message.text, suggestions=suggestions,
            labels=turn.classification.labels, abusive=is_abusive(turn, self.abuse_threshold),
        )

    async def open_case(
        self, turn: Turn, *, message_id: int, summary: str, suggestions: list[dict],
        labels: dict[str, str], abusive: bool = False, responder: str | None = None,
    ) -> Reply:
        """Open the case for the citizen's message `message_id` (once: a second call finds it)
        and tell them its number. Asked in public, the answer and staff replies go private."""
        event = turn.event
        private_address = event.private_address if isinstance(event, InboundMessage) else None
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
        )
        return Reply(
            say("case_opened", turn.language, ref=case.reference), responder or self.name,
            case_id=case.id, private=True,
        )
