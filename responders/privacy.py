"""`/mydata` and `/forget`: a citizen sees everything stored about them, or has it erased.

Both are carried out by the outbox (`townhall/privacy_desk.py`), not here: the export is built
when it is sent, so it is never stored; the erasure waits until the goodbye message has gone
out (it erases the address that message needs). `/forget` asks for a confirmation first: it
cannot be undone.
"""

from __future__ import annotations

from sqlmodel import Session

from listening.outbox import enqueue
from responders.chain import Reply, Turn
from responders.texts import say
from townhall.db import Database
from townhall.domain import Button, utcnow

ACTION = "forget"


class PrivacyResponder:
    name = "privacy"

    def __init__(self, db: Database):
        self.db = db

    async def respond(self, turn: Turn) -> Reply | None:
        press = turn.press
        if press is not None and press.action == ACTION:
            if press.value != "yes":
                return Reply(say("forget_cancelled", turn.language), self.name)
            await self.db.run(self._queue, "forget", turn)
            return Reply(say("forget_done", turn.language), self.name)
        message = turn.message
        if message is None or message.command not in ("forget", "mydata"):
            return None
        if message.command == "mydata":
            await self.db.run(self._queue, "data_export", turn)
            return Reply(say("mydata_coming", turn.language), self.name, private=True)
        buttons = (Button(say("forget_yes", turn.language), ACTION, "yes"),
                   Button(say("forget_no", turn.language), ACTION, "no"))
        return Reply(say("forget_confirm", turn.language), self.name, buttons, private=True)

    @staticmethod
    def _queue(session: Session, kind: str, turn: Turn) -> None:
        event = turn.event
        address = getattr(event, "private_address", None) or event.address
        enqueue(
            session, key=f"{kind}:{turn.citizen_id}:{turn.message_id}", kind=kind,
            stream=f"privacy:{turn.citizen_id}",
            payload={"citizen_id": turn.citizen_id, "address": address.as_dict(),
                     "language": turn.language, "requested_at": utcnow().isoformat()},
        )
