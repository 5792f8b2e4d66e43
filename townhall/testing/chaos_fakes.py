"""The fakes as `townhall bench chaos` runs them: faulty on demand, and a staff member in Slack.

Why subclasses: the fakes already inject 429s (with ``retry_after`` / ``Retry-After``), 5xx,
hung requests and dropped connections, all without side effects. A chaos run also wants slow
answers that *do* succeed (a platform under load), which only a wrapper around the request
handler can add. Faults are seeded, so a run can be repeated.

`StaffDesk` plays the city's staff: it watches the triage channel for new case cards and answers
each one in its thread, once, with a unique marker, as a person would. Slack retries an event the
app did not acknowledge; the desk does the same (the same envelope, so the same event), but with
more patience than Slack's three retries, because in a chaos run the bot is down most of the time.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from townhall.testing.fake_slack import FakeSlack
from townhall.testing.fake_slack_api import WRITE_METHODS
from townhall.testing.fake_telegram import SENDING_METHODS, FakeTelegram
from townhall.testing.fake_telegram_api import canonical_method

REFERENCE = re.compile(r"\b[A-Z]{1,8}-\d{5,}\b")
FAULT_KINDS = ("429", "500", "timeout", "drop")  # plus "slow": one fifth of the rate each
TELEGRAM_FAULTY = frozenset(SENDING_METHODS | {"getUpdates"})
TELEGRAM_SLOW = frozenset(SENDING_METHODS)  # a long poll is slow by nature


@dataclass
class Slowness:
    """Delay a share of calls by a random time, then answer them normally."""

    rate: float = 0.0
    rng: random.Random = field(default_factory=random.Random)
    seconds: tuple[float, float] = (0.3, 1.5)
    injected: int = 0

    async def maybe_wait(self) -> None:
        if self.rate and self.rng.random() < self.rate:
            self.injected += 1
            await asyncio.sleep(self.rng.uniform(*self.seconds))


class ChaosTelegram(FakeTelegram):
    """The fake Bot API with slow answers on top of its own faults."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slowness = Slowness()

    def faulty(self, rate: float, seed: int) -> None:
        """`rate` of sending calls (and of getUpdates) fail or are slow, in equal shares."""
        share = rate / (len(FAULT_KINDS) + 1)
        self.fault_rate(
            share * len(FAULT_KINDS), kinds=FAULT_KINDS, seed=seed, methods=TELEGRAM_FAULTY
        )
        self.slowness = Slowness(share, random.Random(seed + 1))

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if canonical_method(request.match_info["method"]) in TELEGRAM_SLOW:
            await self.slowness.maybe_wait()
        return await super()._handle_api(request)

    @property
    def faults_count(self) -> int:
        return len(self.faults_injected) + self.slowness.injected


class ChaosSlack(FakeSlack):
    """The fake Slack with slow answers on top of its own faults (write methods only)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slowness = Slowness()

    def faulty(self, rate: float, seed: int, hung_seconds: float = 5.0) -> None:
        """`rate` of write calls fail or are slow; a hung call answers 504 after `hung_seconds`
        (a gateway's timeout), not after the SDK's 30 s, so one hang does not stall the run."""
        share = rate / (len(FAULT_KINDS) + 1)
        self.fault_rate(share * len(FAULT_KINDS), kinds=FAULT_KINDS, seed=seed)
        self.timeout_delay = hung_seconds
        self.slowness = Slowness(share, random.Random(seed + 2))

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["method"] in WRITE_METHODS:
            await self.slowness.maybe_wait()
        return await super()._handle_api(request)

    @property
    def faults_count(self) -> int:
        return len(self.faults) + self.slowness.injected


def block_text(message: dict[str, Any]) -> str:
    """Every text a person reads on a message with blocks, as one string."""
    parts = [str(message.get("text") or "")]
    for block in message.get("blocks") or []:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(str(text.get("text", "")))
        parts += [str(f.get("text", "")) for f in block.get("fields") or []]
        for element in block.get("elements") or []:
            inner = element.get("text")
            is_object = isinstance(inner, dict)
            parts.append(str(inner.get("text", "")) if is_object else str(inner or ""))
    return "\n".join(parts)


@dataclass
class StaffReply:
    reference: str
    card_ts: str
    marker: str
    due: float  # monotonic time the staff member answers
    envelope: dict[str, Any] | None = None
    acked: bool = False
    deliveries: int = 0
    posted_at: float = 0.0


class StaffDesk:
    """Answers every new case card in its thread, and redelivers what the bot did not ack."""

    def __init__(
        self,
        slack: FakeSlack,
        channel: str,
        staff_id: str,
        rng: random.Random,
        delay: tuple[float, float] = (0.0, 1.0),
        retry_every: float = 1.0,
    ) -> None:
        self.slack = slack
        self.channel = channel
        self.staff_id = staff_id
        self.rng = rng
        self.delay = delay
        self.retry_every = retry_every
        self.replies: dict[str, StaffReply] = {}  # by case reference
        self.cards: dict[str, list[str]] = {}  # reference -> ts of every card posted for it
        self.notes: dict[tuple[str, str], int] = {}  # (thread ts, text) of the bot's replies
        self.redeliveries = 0
        self._cursor = 0

    def scan(self) -> None:
        """Read the channel's new messages: cards (by reference) and the bot's thread notes."""
        channel = self.slack.ws.resolve_channel(self.channel)
        if channel is None:
            return
        messages = channel.messages
        for record in messages[self._cursor :]:
            data = record.data
            if not data.get("bot_id"):
                continue
            if record.is_reply:
                key = (str(data.get("thread_ts")), str(data.get("text") or ""))
                self.notes[key] = self.notes.get(key, 0) + 1
                continue
            found = REFERENCE.search(block_text(data)) if data.get("blocks") else None
            if found is None:
                continue
            reference = found.group(0)
            self.cards.setdefault(reference, []).append(record.ts)
            if reference not in self.replies:
                self.replies[reference] = StaffReply(
                    reference,
                    record.ts,
                    f"chaos-staff-{len(self.replies) + 1:05d}",
                    time.monotonic() + self.rng.uniform(*self.delay),
                )
        self._cursor = len(messages)

    @property
    def pending(self) -> int:
        """Staff replies not yet acknowledged by the bot."""
        return sum(1 for reply in self.replies.values() if not reply.acked)

    async def work(self, at_once: int = 50) -> None:
        """One round: answer the cards that are due, redeliver unacknowledged replies."""
        self.scan()
        now = time.monotonic()
        due = [r for r in self.replies.values() if not r.acked and r.due <= now]
        await asyncio.gather(*(self._attempt(reply) for reply in due[:at_once]))

    async def _attempt(self, reply: StaffReply) -> None:
        await self._deliver(reply)
        if not reply.acked:
            reply.due = time.monotonic() + self.retry_every

    async def _deliver(self, reply: StaffReply) -> None:
        reply.deliveries += 1
        if reply.envelope is None:
            text = f"We have sent a crew, thanks for reporting. [{reply.marker}]"
            reply.posted_at = time.monotonic()
            delivery = await self.slack.post_message(
                self.staff_id, self.channel, text, thread_ts=reply.card_ts
            )
            if delivery is None:
                raise RuntimeError("the bot is not in the triage channel")
            reply.envelope = delivery.request
        else:
            self.redeliveries += 1
            delivery = await self.slack.deliver("events_api", reply.envelope)
        reply.acked = delivery.acked

    def duplicated_cards(self) -> int:
        return sum(len(ts) - 1 for ts in self.cards.values())

    def duplicated_notes(self) -> int:
        return sum(count - 1 for count in self.notes.values())
