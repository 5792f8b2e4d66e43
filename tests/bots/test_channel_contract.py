"""The contract every citizen channel adapter keeps, run against each one through its SDK.

A driver per platform plays the citizen on that platform's fake; the assertions are the same for
all. A new channel (X, ...) adds a driver to `DRIVERS` and must pass the whole suite.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import pytest

from bots.base import Channel
from bots.telegram import TelegramChannel
from bots.x import XApiClient, XChannel
from townhall.domain import (
    Address,
    Button,
    ButtonPress,
    InboundEvent,
    InboundMessage,
    OutboundMessage,
    SendError,
)
from townhall.testing.fake_telegram import FakeTelegram
from townhall.testing.fake_x import FakeX, MemoryCheckpoints


class Driver(Protocol):
    """Plays one citizen on one platform's fake and reads what that citizen received."""

    channel: Channel
    address: Address
    max_length: int  # longest text sent as one message

    def citizen_writes(self, text: str) -> Any: ...

    def redeliver(self, handle: Any) -> None: ...

    def citizen_presses(self, button: Button) -> None: ...

    def received(self) -> list[dict[str, Any]]: ...

    def fail_next_send(self, status: int, retry_after: int = 1) -> None: ...


class TelegramDriver:
    CHAT = 8800123
    max_length = 4096

    def __init__(self, fake: FakeTelegram):
        self.fake = fake
        self.channel = TelegramChannel(
            fake.token, api_url=fake.base_url, file_url=fake.base_file_url, poll_timeout=1
        )
        self.address = Address("telegram", str(self.CHAT))

    def citizen_writes(self, text: str) -> Any:
        return self.fake.user_sends(text, user_id=self.CHAT, first_name="Dana")

    def redeliver(self, handle: Any) -> None:
        self.fake.redeliver(handle)

    def citizen_presses(self, button: Button) -> None:
        message = next(s for s in reversed(self.received()) if s.get("reply_markup"))
        self.fake.user_presses(
            f"{button.action}:{button.value}", message=message, user_id=self.CHAT
        )

    def received(self) -> list[dict[str, Any]]:
        return [s for s in self.fake.sent if s.get("chat_id") == self.CHAT]

    def fail_next_send(self, status: int, retry_after: int = 1) -> None:
        self.fake.fail_next("sendMessage", status=status, retry_after=retry_after)


@asynccontextmanager
async def telegram_driver() -> AsyncIterator[TelegramDriver]:
    async with FakeTelegram() as fake:
        yield TelegramDriver(fake)


class XDriver:
    """X has no push: the driver polls mentions the way the app's scheduler does, faster."""

    CITIZEN = "dana_k"
    max_length = 280

    def __init__(self, fake: FakeX):
        self.fake = fake
        self.checkpoints = MemoryCheckpoints()
        client = XApiClient(api_url=fake.base_url, **fake.credentials)
        self.channel = XChannel(client, checkpoints=self.checkpoints, page_size=5)
        seed = fake.post("Good morning, Springfield", by=self.CITIZEN)  # what replies go under
        self.address = Address("x", seed["author_id"], seed["conversation_id"], seed["id"])

    def citizen_writes(self, text: str) -> Any:
        return self.fake.mention(text, by=self.CITIZEN)

    def redeliver(self, handle: Any) -> None:
        """X repeats a mention when the checkpoint is behind it (a crash before saving it)."""
        for key in self.checkpoints.data:
            self.checkpoints.data[key] = str(int(handle["id"]) - 1)

    def citizen_presses(self, button: Button) -> None:
        post = next(p for p in reversed(self.fake.posts) if f") {button.label}" in p["text"])
        number = next(
            line.split(")")[0] for line in post["text"].splitlines()
            if line.endswith(f") {button.label}")
        )
        self.fake.mention(number, by=self.CITIZEN, in_reply_to=post["id"])

    def received(self) -> list[dict[str, Any]]:
        return self.fake.posts + self.fake.dms

    def fail_next_send(self, status: int, retry_after: int = 1) -> None:
        self.fake.fail_next("post", status, reset_in=retry_after)

    async def poll_forever(self) -> None:
        while True:
            await self.channel.poll_mentions()  # type: ignore[attr-defined]
            await asyncio.sleep(0.02)


@asynccontextmanager
async def x_driver() -> AsyncIterator[XDriver]:
    async with FakeX() as fake:
        driver = XDriver(fake)
        poller = asyncio.create_task(driver.poll_forever())
        try:
            yield driver
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller


DRIVERS = {"telegram": telegram_driver, "x": x_driver}


class Inbox:
    def __init__(self) -> None:
        self.events: list[InboundEvent] = []

    async def __call__(self, event: InboundEvent) -> None:
        self.events.append(event)

    async def wait(self, count: int, timeout: float = 5.0) -> list[InboundEvent]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.events) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"expected {count} events, got {self.events}")
            await asyncio.sleep(0.01)
        return self.events


@pytest.fixture(params=sorted(DRIVERS))
async def driver(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Driver, Inbox]]:
    async with DRIVERS[request.param]() as drv:
        inbox = Inbox()
        await drv.channel.start(inbox)
        try:
            yield drv, inbox
        finally:
            await drv.channel.stop()


async def test_a_citizen_message_becomes_one_inbound_event(driver) -> None:
    drv, inbox = driver
    drv.citizen_writes("Is the recycling centre open on Sunday?")
    [event] = await inbox.wait(1)
    assert isinstance(event, InboundMessage)
    assert event.channel == drv.channel.name == event.address.channel
    assert event.text == "Is the recycling centre open on Sunday?"
    assert event.external_id and event.sender.user_id
    assert event.address.chat_id == drv.address.chat_id


async def test_a_redelivered_update_keeps_its_external_id(driver) -> None:
    drv, inbox = driver
    handle = drv.citizen_writes("hello")
    await inbox.wait(1)
    drv.redeliver(handle)
    first, second = await inbox.wait(2)
    assert first.external_id == second.external_id


async def test_commands_are_recognised(driver) -> None:
    drv, inbox = driver
    drv.citizen_writes("/status TH-00042")
    [event] = await inbox.wait(1)
    assert isinstance(event, InboundMessage)
    assert (event.command, event.args) == ("status", "TH-00042")


@pytest.mark.parametrize(
    "text",
    [
        "Plain reply.",
        "Markup stays text: <b>bold</b> *star* _under_ [link](x) `code` & <!channel>",
        "RTL \u202eevil\u202c, zero\u200bwidth, emoji 🚧🚧🚧, accents éàü, CJK 市政厅",
        "Long " + "x" * 9000,
    ],
)
async def test_send_delivers_the_text_verbatim(driver, text: str) -> None:
    drv, _ = driver
    external_id = await drv.channel.send(OutboundMessage(drv.address, text))
    assert isinstance(external_id, str) and external_id
    parts = [m["text"] for m in drv.received()]
    # a long text may be split (whitespace at a cut may go); nothing else may change
    assert "".join("".join(parts).split()) == "".join(text.split())
    assert len(parts) == 1 or len(text) > drv.max_length


async def test_buttons_round_trip_as_button_presses(driver) -> None:
    drv, inbox = driver
    buttons = (Button("English", "language", "en"), Button("Español", "language", "es"))
    await drv.channel.send(OutboundMessage(drv.address, "Which language?", buttons))
    drv.citizen_presses(buttons[1])
    [event] = await inbox.wait(1)
    assert isinstance(event, ButtonPress)
    assert (event.action, event.value) == ("language", "es")
    assert event.address.chat_id == drv.address.chat_id


async def test_rate_limit_becomes_a_retryable_send_error(driver) -> None:
    drv, _ = driver
    drv.fail_next_send(429, retry_after=3)
    with pytest.raises(SendError) as caught:
        await drv.channel.send(OutboundMessage(drv.address, "hello"))
    assert caught.value.retry_after is not None and caught.value.retry_after >= 3
    assert not caught.value.permanent
    assert drv.received() == []


async def test_a_refusal_becomes_a_permanent_send_error(driver) -> None:
    drv, _ = driver
    drv.fail_next_send(403)
    with pytest.raises(SendError) as caught:
        await drv.channel.send(OutboundMessage(drv.address, "hello"))
    assert caught.value.permanent
    assert drv.received() == []
