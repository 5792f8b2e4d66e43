"""The outbox on real databases: recorded once, sent once, in order, retried as told."""

import asyncio
from datetime import timedelta

from sqlmodel import select

from listening.models import OutboxItem
from listening.outbox import Outbox, RetryPolicy, claim_due, enqueue
from townhall.db import Database
from townhall.domain import SendError, utcnow


def _enqueue(db: Database, key: str, stream: str = "telegram:1", text: str = "hi") -> bool:
    return db.transact(
        lambda s: enqueue(s, key=key, kind="message", stream=stream, payload={"text": text})
    )


def test_enqueue_is_idempotent_per_key(db: Database) -> None:
    assert _enqueue(db, "reply:1") is True
    assert _enqueue(db, "reply:1") is False
    assert len(db.transact(lambda s: s.exec(select(OutboxItem)).all())) == 1


def test_one_item_per_stream_and_leases_block_a_second_dispatcher(db: Database) -> None:
    _enqueue(db, "a1", "telegram:1")
    _enqueue(db, "a2", "telegram:1")
    _enqueue(db, "b1", "telegram:2")
    first = db.transact(lambda s: claim_due(s, limit=10, lease_seconds=60))
    assert sorted(item.payload["text"] for item in first) == ["hi", "hi"]
    assert {item.stream for item in first} == {"telegram:1", "telegram:2"}
    # another replica looking at the same moment gets nothing: the heads are leased
    assert db.transact(lambda s: claim_due(s, limit=10, lease_seconds=60)) == []


def test_retry_delay_honours_the_platform_hint() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay=0.1, max_delay=1.0)
    assert policy.delay(1, retry_after=7.0) == 7.0
    assert policy.delay(10, retry_after=None) <= 1.2


async def test_dispatcher_delivers_in_order_and_retries_after_the_hint(db: Database) -> None:
    delivered: list[str] = []
    attempts: dict[str, int] = {}

    async def flaky(payload: dict) -> str:
        text = payload["text"]
        attempts[text] = attempts.get(text, 0) + 1
        if text == "first" and attempts[text] == 1:
            raise SendError("rate limited", retry_after=0.3)
        delivered.append(text)
        return f"id-{text}"

    outbox = Outbox(db, retry=RetryPolicy(base_delay=0.05), poll_interval=0.05)
    outbox.register("message", flaky)
    _enqueue(db, "k1", text="first")
    _enqueue(db, "k2", text="second")
    started = asyncio.get_running_loop().time()
    await outbox.start()
    try:
        for _ in range(100):
            if len(delivered) == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await outbox.stop()
    assert delivered == ["first", "second"]  # the second waited for the first
    assert asyncio.get_running_loop().time() - started >= 0.3
    items = db.transact(lambda s: s.exec(select(OutboxItem).order_by(OutboxItem.id)).all())
    assert [(i.status, i.attempts, i.external_id) for i in items] == [
        ("sent", 2, "id-first"),
        ("sent", 1, "id-second"),
    ]


async def test_permanent_failure_stops_retrying_and_is_kept(db: Database) -> None:
    async def refuse(payload: dict) -> str:
        raise SendError("bot was blocked by the user", permanent=True)

    outbox = Outbox(db)
    outbox.register("message", refuse)
    _enqueue(db, "k1")
    await outbox.dispatch_due()
    item = db.transact(lambda s: s.exec(select(OutboxItem)).one())
    assert item.status == "failed"
    assert "blocked" in (item.last_error or "")
    assert await outbox.dispatch_due() == 0


async def test_an_expired_lease_is_taken_over(db: Database) -> None:
    """A dispatcher that died holding a lease does not strand the item."""
    _enqueue(db, "k1")
    claimed = db.transact(lambda s: claim_due(s, limit=1, lease_seconds=60))
    assert len(claimed) == 1

    def expire(session):
        item = session.exec(select(OutboxItem)).one()
        item.lease_until = utcnow() - timedelta(seconds=1)
        session.add(item)

    db.transact(expire)
    again = db.transact(lambda s: claim_due(s, limit=1, lease_seconds=60))
    assert [c.id for c in again] == [claimed[0].id]
    assert again[0].attempts == 2


async def test_stop_lets_a_send_in_flight_finish_and_be_marked(db: Database) -> None:
    sending, release = asyncio.Event(), asyncio.Event()

    async def slow(payload: dict) -> str:
        sending.set()
        await release.wait()
        return "sent-1"

    outbox = Outbox(db, poll_interval=0.05)
    outbox.register("message", slow)
    _enqueue(db, "k1")
    await outbox.start()
    await asyncio.wait_for(sending.wait(), 5)
    stopping = asyncio.create_task(outbox.stop())
    await asyncio.sleep(0.1)
    assert not stopping.done()  # waiting for the send, not cancelling it
    release.set()
    await asyncio.wait_for(stopping, 5)
    [item] = db.transact(lambda s: s.exec(select(OutboxItem)).all())
    assert (item.status, item.external_id) == ("sent", "sent-1")


async def test_stop_gives_up_on_a_hung_send_after_the_grace_period(db: Database) -> None:
    async def hung(payload: dict) -> str:
        await asyncio.Event().wait()
        return "never"

    outbox = Outbox(db, poll_interval=0.05)
    outbox.register("message", hung)
    _enqueue(db, "k1")
    await outbox.start()
    await asyncio.sleep(0.2)
    await asyncio.wait_for(outbox.stop(grace=0.2), 5)
    [item] = db.transact(lambda s: s.exec(select(OutboxItem)).all())
    assert item.status == "pending"  # leased; another replica or a restart sends it later
