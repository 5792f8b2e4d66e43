"""The one outbound path: record, then send, then mark sent; retry what failed.

Anything that must reach a platform (a reply to a citizen, a staff card, a note in a card's thread)
is first written to the `outbox` table in the same transaction as the change that caused it, so a
crash can never lose it. A dispatcher then delivers due items through the handler registered for
their kind. A lease on each claimed row keeps two dispatchers (two replicas) from sending the same
item, and the unique `key` keeps one event from queueing the same message twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from listening.models import OutboxItem
from townhall.db import Database, insert_or_ignore
from townhall.domain import Address, SendError, StorageUnavailable, utcnow

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[str | None]]


def citizen_stream(address: Address) -> str:
    """The ordering stream of everything sent to one chat: replies and case notices alike."""
    return f"{address.channel}:{address.chat_id}"


def enqueue(
    session: Session, *, key: str, kind: str, stream: str, payload: dict,
    not_before: datetime | None = None,
) -> bool:
    """Record an item to deliver, inside the caller's transaction. False if `key` exists.

    `not_before` holds the delivery back (a throttled card edit waits for the end of its
    window, so it shows everything that happened in it)."""
    now = utcnow()
    values = {
        "key": key, "kind": kind, "stream": stream, "payload": payload, "status": "pending",
        "attempts": 0, "next_attempt_at": max(now, not_before or now), "created_at": now,
    }
    return insert_or_ignore(session, OutboxItem, values, ["key"])


def message_id(channel: str, ts: str) -> str:
    """The external id a handler returns for a message it posted, when a later item must find
    that message (to upload a file into its thread)."""
    return f"{channel}:{ts}"


def posted_message(session: Session, key: str) -> tuple[str, str] | None:
    """(channel, ts) of the message the sent item `key` posted; None until it is sent."""
    found = session.exec(
        select(OutboxItem.external_id).where(OutboxItem.key == key, OutboxItem.status == "sent")
    ).first()
    if not found:
        return None
    channel, _, ts = found.partition(":")
    return channel, ts


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    stream: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 1.0
    max_delay: float = 300.0

    def delay(self, attempts: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter, but never sooner than the platform asked."""
        backoff = min(self.max_delay, self.base_delay * 2 ** max(attempts - 1, 0))
        backoff *= random.uniform(0.8, 1.2)
        return max(backoff, retry_after or 0.0)


def claim_due(session: Session, *, limit: int, lease_seconds: float) -> list[Claimed]:
    """Lease the oldest pending item of each stream whose time has come."""
    now = utcnow()
    pending = session.exec(
        select(OutboxItem).where(OutboxItem.status == "pending").order_by(col(OutboxItem.id))
    ).all()
    heads: dict[str, OutboxItem] = {}
    for item in pending:
        heads.setdefault(item.stream, item)
    claimed: list[Claimed] = []
    for item in heads.values():
        if len(claimed) >= limit:
            break
        if item.next_attempt_at > now or (item.lease_until and item.lease_until > now):
            continue
        attempts = item.attempts + 1
        result = session.execute(
            update(OutboxItem)
            .where(col(OutboxItem.id) == item.id, col(OutboxItem.status) == "pending")
            .where(or_(col(OutboxItem.lease_until).is_(None), col(OutboxItem.lease_until) <= now))
            .values(lease_until=now + timedelta(seconds=lease_seconds), attempts=attempts)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            assert item.id is not None
            claimed.append(Claimed(item.id, item.kind, item.stream, dict(item.payload), attempts))
    return claimed


def mark_sent(session: Session, item_id: int, external_id: str | None) -> None:
    item = session.get(OutboxItem, item_id)
    if item is not None:
        item.status, item.sent_at, item.lease_until = "sent", utcnow(), None
        item.external_id = external_id
        session.add(item)


def mark_failed(session: Session, item_id: int, error: str, retry_in: float | None) -> None:
    """Schedule another attempt in `retry_in` seconds, or give up when it is None."""
    item = session.get(OutboxItem, item_id)
    if item is None:
        return
    item.last_error, item.lease_until = error[:2000], None
    if retry_in is None:
        item.status = "failed"
    else:
        item.next_attempt_at = utcnow() + timedelta(seconds=retry_in)
    session.add(item)


class Outbox:
    """Delivers recorded items through the handlers registered for each kind."""

    def __init__(
        self,
        db: Database,
        *,
        retry: RetryPolicy | None = None,
        concurrency: int = 8,
        poll_interval: float = 1.0,
        lease_seconds: float = 120.0,
    ):
        self.db = db
        self.retry = retry or RetryPolicy()
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease_seconds = lease_seconds
        self._handlers: dict[str, Handler] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._database_away = False

    def register(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    def wake(self) -> None:
        """Something was just recorded: look now instead of at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="outbox")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop once the deliveries in flight are done (at most `grace` seconds).

        Cancelling a send half-way would leave its item leased, and unsent, until the lease ran
        out; a clean stop lets it finish and be marked, so a restart sends nothing late or twice.
        """
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await asyncio.shield(task)
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _loop(self) -> None:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
        # arrives as the event fires, and stop() would then wait for this loop forever.
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.dispatch_due()
            except StorageUnavailable as exc:  # said once per outage, not at every tick
                if not self._database_away:
                    log.warning("outbox: the database is away (%s); waiting for it", exc)
                self._database_away = True
                continue
            except Exception:
                log.exception("outbox dispatch failed; retrying")
            if self._database_away:
                log.warning("outbox: the database is back")
                self._database_away = False

    async def dispatch_due(self) -> int:
        """Deliver one round of due items (one per stream). Returns how many were tried."""
        items = await self.db.run(
            lambda s: claim_due(s, limit=self.concurrency, lease_seconds=self.lease_seconds)
        )
        if items:
            await asyncio.gather(*(self._deliver(item) for item in items))
            self._wake.set()  # the next item of each stream may be due now
        return len(items)

    async def _deliver(self, item: Claimed) -> None:
        handler = self._handlers.get(item.kind)
        try:
            if handler is None:
                raise SendError(f"no handler for outbox kind {item.kind!r}", permanent=True)
            external_id = await handler(item.payload)
        except Exception as exc:
            await self._record_failure(item, exc)
            return
        await self.db.run(mark_sent, item.id, external_id)

    async def _record_failure(self, item: Claimed, exc: Exception) -> None:
        permanent = isinstance(exc, SendError) and exc.permanent
        retry_after = exc.retry_after if isinstance(exc, SendError) else None
        if permanent or item.attempts >= self.retry.max_attempts:
            log.error("giving up on outbox item %s (%s): %s", item.id, item.kind, exc)
            retry_in = None
        else:
            retry_in = self.retry.delay(item.attempts, retry_after)
            log.warning(
                "outbox item %s (%s) failed, attempt %s, retrying in %.1fs: %s",
                item.id, item.kind, item.attempts, retry_in, exc,
            )
        await self.db.run(mark_failed, item.id, f"{type(exc).__name__}: {exc}", retry_in)
