"""The database away for a while: updates wait at Telegram, /healthz says so, the bot recovers.

SQLite is taken away the way it fails in practice, by another process holding its write lock
(every write then fails after the busy timeout while reads still pass); PostgreSQL by refusing
new connections to the bot's database and ending the open ones, as a restarting server does.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import func, select

from listening.models import Message
from townhall.testing.harness import Harness, running_townhall

QUESTIONS = {
    7710001: "When is my garbage picked up?",
    7710002: "How do I pay a parking ticket?",
    7710003: "What are the library opening hours?",
}


@contextmanager
def database_away(url: str) -> Iterator[None]:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        holder = sqlite3.connect(parsed.database or "", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the write lock, until the block ends
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    name = parsed.database
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
            {"name": name},
        )
    try:
        yield
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


async def healthz(harness: Harness) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{harness.web_url}/healthz") as response,
    ):
        return response.status


async def wait_for_health(harness: Harness, status: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (seen := await healthz(harness)) != status:
        assert time.monotonic() < deadline, f"/healthz stayed {seen}, expected {status}"
        await asyncio.sleep(0.2)


async def test_updates_wait_for_the_database_and_are_answered_once(
    models, database_url, tmp_path
) -> None:
    async with running_townhall(models, database_url=database_url, data_dir=tmp_path) as harness:
        tg = harness.telegram
        await wait_for_health(harness, 200, timeout=5)
        with database_away(database_url):
            for citizen, question in QUESTIONS.items():
                tg.user_sends(question, user_id=citizen)
            await wait_for_health(harness, 503, timeout=15)
            # a write has failed (on SQLite after the 10 s busy timeout), not just waited
            deadline = time.monotonic() + 20
            while harness.bot.db.unavailable is None:
                assert time.monotonic() < deadline, "no write failed during the outage"
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)
            # nothing was confirmed to Telegram: the updates are still queued there
            assert tg.pending_update_count == len(QUESTIONS)
            assert not tg.sent
        for citizen in QUESTIONS:
            await harness.wait_for_reply(citizen, timeout=45)
        await wait_for_health(harness, 200, timeout=15)
        await harness.outbox_settled()
        for citizen in QUESTIONS:
            replies = [s for s in tg.sent if s.get("chat_id") == citizen]
            assert len(replies) == 1, replies  # answered once, though delivered again
        assert tg.pending_update_count == 0

        def stored(session) -> int:
            return session.exec(select(func.count()).select_from(Message)).one()

        assert await harness.bot.db.run(stored) == len(QUESTIONS)
