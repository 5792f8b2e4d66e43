"""Polls out to the platforms and totals back: the outbox handlers of `poll` and `poll_stop`,
and the scheduled read-back of poll posts' totals on X.

Separate from `PollService` (which decides) because these are the only parts that talk to the
channels: a send that fails is retried by the outbox, and nothing here changes a poll's state.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from listening.outbox import Outbox
from polls.models import Poll, PollDelivery
from polls.service import queue_card
from townhall.db import Database
from townhall.domain import Address, SendError, utcnow

log = logging.getLogger(__name__)


class PollSender:
    def __init__(
        self, db: Database, outbox: Outbox, channels: dict[str, Any], *,
        tally_seconds: float = 10.0,
    ):
        self.db = db
        self.outbox = outbox
        self.channels = channels
        self.tally_seconds = tally_seconds

    async def deliver(self, payload: dict[str, Any]) -> str:
        """Outbox kind `poll`: send the native poll and remember its platform id."""
        address = Address.from_dict(payload["address"])
        channel = self.channels.get(address.channel)
        if channel is None or not hasattr(channel, "send_poll"):
            raise SendError(f"{address.channel} cannot send polls", permanent=True)
        poll = await self.db.run(lambda s: s.get(Poll, int(payload["poll_id"])))
        if poll is None or poll.status != "open":
            return "skipped"
        if address.channel == "x":  # an X poll closes by itself after its duration
            minutes = max(5, int((poll.closes_at - utcnow()).total_seconds() // 60))
            message_id, platform_id = await channel.send_poll(
                address, poll.question, poll.options, duration_minutes=minutes
            )
        else:
            message_id, platform_id = await channel.send_poll(
                address, poll.question, poll.options
            )
        await self.db.run(_remember_delivery, poll.id, address, message_id, platform_id)
        return f"{message_id}:{platform_id}"

    async def refresh_totals(self, now: datetime | None = None) -> int:
        """Read back the totals of poll posts on platforms that only give totals (X), for
        polls open now or closed within the last day; returns how many were read."""
        now = now or utcnow()
        pending = await self.db.run(_totals_to_read, now - timedelta(days=1))
        read = 0
        for delivery_id, channel_name, post_id in pending:
            channel = self.channels.get(channel_name)
            if channel is None or not hasattr(channel, "poll_totals"):
                continue
            try:
                totals = await channel.poll_totals(post_id)
            except SendError as exc:
                log.warning("poll totals of %s post %s: %s", channel_name, post_id, exc)
                continue
            await self.db.run(_save_totals, delivery_id, list(totals.votes), totals.is_open,
                              now, self.tally_seconds)
            read += 1
        if read:
            self.outbox.wake()
        return read

    async def stop(self, payload: dict[str, Any]) -> str:
        """Outbox kind `poll_stop`: close the platform poll so nobody can vote any more."""
        channel = self.channels.get(payload["channel"])
        if channel is None or not hasattr(channel, "stop_poll"):
            return "skipped"
        address = Address(payload["channel"], payload["chat_id"])
        await channel.stop_poll(address, payload["message_id"])
        return payload["message_id"]


def _totals_to_read(session: Session, closed_since: datetime) -> list[tuple[int, str, str]]:
    rows = session.exec(
        select(PollDelivery.id, PollDelivery.channel, PollDelivery.message_id,
               PollDelivery.totals)
        .join(Poll, col(Poll.id) == PollDelivery.poll_id)
        .where(PollDelivery.channel == "x",
               (Poll.status == "open") | (col(Poll.closed_at) >= closed_since))
    ).all()
    return [(int(i), str(ch), str(post)) for i, ch, post, totals in rows
            if not (totals or {}).get("final")]


def _save_totals(
    session: Session, delivery_id: int, votes: list[int], is_open: bool, now: datetime,
    tally_seconds: float,
) -> None:
    delivery = session.get(PollDelivery, delivery_id)
    if delivery is None:
        return
    delivery.totals = {"votes": votes, "final": not is_open, "read_at": now.isoformat()}
    session.add(delivery)
    queue_card(session, delivery.poll_id, now, tally_seconds)


def _remember_delivery(
    session: Session, poll_id: int, address: Address, message_id: str, platform_id: str
) -> None:
    session.add(PollDelivery(poll_id=poll_id, channel=address.channel, chat_id=address.chat_id,
                             platform_poll_id=platform_id, message_id=message_id))
