"""A citizen with an open case writes again: the message joins that case, not a new one."""

from __future__ import annotations

from responders.cases import CaseService
from responders.chain import Reply, Turn
from responders.texts import say


class AttachmentResponder:
    """A photo or location with no words and no open case: ask what the problem is; the case
    the next message opens takes the attachment along (`CaseService.open`)."""

    name = "attachment"

    async def respond(self, turn: Turn) -> Reply | None:
        message = turn.message
        if message is None or message.text.strip() or not message.attachments:
            return None
        return Reply(say("attachment_pending", turn.language), self.name, private=True)


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
        key = "added_to_case" if message.text.strip() else "attachment_saved"
        return Reply(
            say(key, turn.language, ref=case.reference), self.name, case_id=case.id,
            private=True,
        )
