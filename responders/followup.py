"""A citizen with an open case writes again: the message joins that case, not a new one."""

from __future__ import annotations

from responders.cases import CaseService
from responders.chain import Reply, Turn
from responders.texts import say


class FollowUpResponder:
    name = "followup"

    def __init__(self, cases: CaseService):
        self.cases = cases

    async def respond(self, turn: Turn) -> Reply | None:
        message = turn.message
        if message is None or message.command or turn.open_case is None:
            return None
        case = await self.cases.add_citizen_message(
            turn.open_case.id, turn.message_id, message.text
        )
        return Reply(
            say("added_to_case", turn.language, ref=case.reference), self.name, case_id=case.id,
            private=True,
        )
