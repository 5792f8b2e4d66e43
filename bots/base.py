"""The two narrow interfaces every platform adapter implements.

A `Channel` is where citizens are (Telegram, X): it turns platform updates into domain events and
sends `OutboundMessage`s. A `StaffConsole` is where staff work (Slack): it shows case cards and
turns clicks into `StaffAction`s. Adapters know their SDK and the domain, and nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from townhall.domain import Card, InboundEvent, OutboundMessage, StaffAction

OnEvent = Callable[[InboundEvent], Awaitable[None]]
OnAction = Callable[[StaffAction], Awaitable[None]]


class Channel(Protocol):
    name: str

    async def start(self, on_event: OnEvent) -> None:
        """Connect and start delivering citizens' events to `on_event`."""
        ...

    async def stop(self) -> None: ...

    async def send(self, message: OutboundMessage) -> str:
        """Deliver a message; return the platform's id for it. Raise `SendError` on failure."""
        ...


class StaffConsole(Protocol):
    name: str

    async def start(self, on_action: OnAction) -> None: ...

    async def stop(self) -> None: ...

    async def post_card(self, card: Card, channel: str | None = None) -> tuple[str, str]:
        """Post a new card (to `channel`, or the triage channel); return where it lives:
        (channel, message id)."""
        ...

    async def update_card(self, channel: str, ts: str, card: Card) -> None: ...

    async def case_of_card(self, channel: str, ts: str) -> int | None:
        """The case id on the card this app posted at (channel, message id), read from the card
        itself; None for any other message."""
        ...

    async def post_note(self, channel: str, ts: str, text: str, *, quoted: str = "") -> str:
        """Post `text` (the console's markup) in the card's thread, followed by `quoted`: a
        citizen's words, shown literally; return the note's message id."""
        ...

    async def post_text(self, text: str) -> str:
        """Post a notice for staff (retraining results, alerts) in the triage channel."""
        ...

    async def post_blocks(
        self, text: str, blocks: list[dict[str, Any]], channel: str | None = None
    ) -> tuple[str, str]:
        """A rich message (a digest summary, a report) in `channel` or the triage channel;
        (channel, message id)."""
        ...

    async def upload_file(
        self, path: Path, *, channel: str, title: str, thread_ts: str | None = None,
        comment: str | None = None,
    ) -> str:
        """Share a file (a report, a chart) in a channel or a card's thread; its id."""
        ...
