"""The last responder: a message nobody could answer becomes a case for staff."""

from __future__ import annotations

from responders.abuse import is_abusive
from responders.cases import CaseService
from responders.chain import Reply, Turn
from responders.faq import FaqMatcher
from responders.texts import say


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
        case = await self.cases.open(
            message_id=turn.message_id,
            citizen_id=turn.citizen_id,
            conversation_id=turn.conversation_id,
            address=message.private_address or message.address,
            summary=message.text,
            language=turn.language,
            suggestions=suggestions,
            labels=turn.classification.labels,
            abusive=is_abusive(turn, self.abuse_threshold),
        )
        return Reply(
            say("case_opened", turn.language, ref=case.reference), self.name, case_id=case.id,
            private=True,
        )
