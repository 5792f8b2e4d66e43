"""The one outbound path: record, then send, then mark sent; retry what failed.

Anything that must reach a platform (a reply to a citizen, a staff card, a note in a card's thread)
is first written to the `outbox` table in the same transaction as the change that caused it, so a
crash can never lose it. A dispatcher then delivers due items through the handler registered for
their kind. A lease on each claimed row keeps two dispatchers (two replicas) from sending the same
item, and the unique `key` keeps one event from queueing the same message twice.

The dispatcher keeps up to `concurrency` sends in flight, out of a few times as many claimed
items, and looks again as soon as one ends, so one slow send (a Slack card) never holds up the
citizens' replies behind it. Each look at the database is one transaction that marks what was
sent since the last look and claims what is due: under load, one unit of work for many items
rather than two per item, which matters on SQLite, where every unit of work of the process
queues for the same thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, update
from sqlmodel import Session, col, select

from listening.models import OutboxItem
from listening.prepared import insert_ignoring, inserted
from townhall.db import Database
from townhall.domain import Address, SendError, StorageUnavailable, utcnow

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[str | None]]
# items claimed per sending slot: one look at the database hands out this many sends, so the
# time a look waits for the database (on SQLite, behind every other unit of work) does not cap
# the sends per second at `concurrency` per look
CLAIM_AHEAD = 4

# every reply, card refresh and note goes through here: prepared once (see listening.prepared)
_ENQUEUE = insert_ignoring(OutboxItem.__table__, ["key"])  # type: ignore[attr-defined]


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
    return inserted(session, _ENQUEUE, values)


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
    """Lease the oldest pending item of each stream whose time has come (at most `limit`).

    The database picks the heads (the oldest pending item of each stream) and the due ones among
    them, so only what is claimed is loaded, however long the queue: a backlog does not make
    each look slower, which would make the backlog grow.
    """
    if limit <= 0:
        return []
    now = utcnow()
    heads = (
        select(func.min(OutboxItem.id))
        .where(OutboxItem.status == "pending")
        .group_by(col(OutboxItem.stream))
    )
    due = session.exec(
        select(OutboxItem)
        .where(col(OutboxItem.id).in_(heads), col(OutboxItem.next_attempt_at) <= now)
        .where(or_(col(OutboxItem.lease_until).is_(None), col(OutboxItem.lease_until) <= now))
        .order_by(col(OutboxItem.id))
        .limit(limit)
    ).all()
    claimed: list[Claimed] = []
    for item in due:
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
    mark_all_sent(session, [(item_id, external_id)])


def mark_all_sent(session: Session, sent: Sequence[tuple[int, str | None]]) -> None:
    """Mark items sent, with the id each send returned, in one statement (run many times)."""
    if not sent:
        return
    table = OutboxItem.__table__  # type: ignore[attr-defined]
    statement = (
        update(table)
        .where(table.c.id == bindparam("item_id"))
        .values(status="sent", sent_at=utcnow(), lease_until=None, external_id=bindparam("ext"))
    )
    session.connection().execute(
        statement, [{"item_id": item_id, "ext": external_id} for item_id, external_id in sent]
    )


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
        self._slots = asyncio.Semaphore(concurrency)  # sends at the same time
        self._sending: set[asyncio.Task[None]] = set()  # claimed, being or waiting to be sent
        self._sent: list[tuple[int, str | None]] = []  # sent, to be marked at the next look

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
        try:
            while not self._stopping:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                # that arrives as the event fires, and stop() would then wait forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval):
                        await self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                try:
                    self._start_sends(await self._look())
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
        finally:
            # stopping: the sends in flight finish and are marked (stop() bounds the wait)
            if self._sending:
                await asyncio.gather(*self._sending, return_exceptions=True)
            if self._sent:
                with contextlib.suppress(Exception):
                    await self._look(claim=False)

    async def _look(self, claim: bool = True) -> list[Claimed]:
        """One transaction: mark what was sent since the last look, and claim what is due and
        fits in the free sending slots. If it fails, the marks wait for the next look."""
        sent, self._sent = self._sent, []
        unfinished = sum(1 for task in self._sending if not task.done())
        room = self.concurrency * CLAIM_AHEAD - unfinished if claim else 0

        def work(session: Session) -> list[Claimed]:
            mark_all_sent(session, sent)
            return claim_due(session, limit=room, lease_seconds=self.lease_seconds)

        try:
            return await self.db.run(work)
        except BaseException:
            self._sent[:0] = sent
            raise

    def _start_sends(self, items: list[Claimed]) -> None:
        claimed_at = asyncio.get_running_loop().time()
        for item in items:
            task = asyncio.create_task(self._send_one(item, claimed_at), name=f"outbox-{item.id}")
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send_one(self, item: Claimed, claimed_at: float) -> None:
        """Send one item when a sending slot is free: a success is marked at the next look, a
        failure recorded now."""
        try:
            async with self._slots:
                if asyncio.get_running_loop().time() - claimed_at > self.lease_seconds / 2:
                    # its lease could run out mid-send, and another dispatcher take it: leave
                    # it to be claimed again then (only when sends hang for minutes)
                    log.warning("outbox item %s waited too long to be sent; later", item.id)
                    return
                external_id = await self._call_handler(item)
        except Exception as exc:
            try:
                await self._record_failure(item, exc)
            except Exception:  # the item stays leased: it is tried again once the lease ends
                log.exception("outbox: could not record the failure of item %s", item.id)
        else:
            self._sent.append((item.id, external_id))
        finally:
            self._wake.set()  # mark it, and the next item of its stream may be due now

    async def _call_handler(self, item: Claimed) -> str | None:
        handler = self._handlers.get(item.kind)
        if handler is None:
            raise SendError(f"no handler for outbox kind {item.kind!r}", permanent=True)
        return await handler(item.payload)

    async def dispatch_due(self) -> int:
        """Deliver one round of due items (one per stream), each result recorded before it
        returns: for tests and tools, the running dispatcher is `_loop`. Returns how many were
        tried."""
        items = await self.db.run(
            lambda s: claim_due(s, limit=self.concurrency, lease_seconds=self.lease_seconds)
        )
        if items:
            await asyncio.gather(*(self._deliver(item) for item in items))
            self._wake.set()  # the next item of each stream may be due now
        return len(items)

    async def _deliver(self, item: Claimed) -> None:
        try:
            external_id = await self._call_handler(item)
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
