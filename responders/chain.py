"""The responder chain: the first responder that answers a turn wins.

Order matters and comes from the composition root: commands, then a follow-up to an open case,
then the FAQ, then escalation to staff (which always answers a message).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from townhall.domain import Button, ButtonPress, Classification, InboundEvent, InboundMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenCase:
    id: int
    reference: str


@dataclass
class Turn:
    """One inbound event with everything the responders need to decide, already loaded."""

    event: InboundEvent
    message_id: int
    citizen_id: int
    conversation_id: int
    language: str
    classification: Classification = field(default_factory=Classification)
    open_case: OpenCase | None = None

    @property
    def message(self) -> InboundMessage | None:
        """The event if it is a written message (not a button press)."""
        return self.event if isinstance(self.event, InboundMessage) else None

    @property
    def press(self) -> ButtonPress | None:
        return self.event if isinstance(self.event, ButtonPress) else None


@dataclass(frozen=True)
class Reply:
    """What to send back to the citizen, and who decided it (kept on the message)."""

    text: str
    responder: str
    buttons: tuple[Button, ...] = ()
    case_id: int | None = None
    # a personal matter (a case, /status): asked in a group, it is answered in private
    private: bool = False


class HandleLater(Exception):
    """A responder cannot decide yet (what the event refers to is not recorded yet): the event
    stays unhandled and the recovery job hands it to the chain again later."""


class Responder(Protocol):
    name: str

    async def respond(self, turn: Turn) -> Reply | None: ...


class ResponderChain:
    def __init__(self, responders: Sequence[Responder]):
        self.responders = list(responders)

    async def respond(self, turn: Turn) -> Reply | None:
        for responder in self.responders:
            reply = await responder.respond(turn)
            if reply is not None:
                return reply
        return None
