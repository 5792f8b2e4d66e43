"""`townhall bench chaos`: SIGKILL the running bot again and again, and count what went astray.

The bench runs the fakes (Telegram, Slack) in its own event loop and the real bot as a child
process (`townhall run`, configured through `TOWNHALL_*` variables: Telegram long polling, Slack
in HTTP mode on a port chosen once, a fixed pseudonym key, a throwaway SQLite file or PostgreSQL
database). Citizens write at `rate` messages per second; a staff member answers every case card
in its thread (`townhall.testing.chaos_fakes.StaffDesk`); meanwhile the bot is killed with
SIGKILL and started again. What is counted, and how, is in `townhall.testing.chaos_workload`.

When kills happen: a start takes tens of seconds on a small machine (importing the libraries,
loading the models and encoding the knowledge base's example questions), far longer than the
few seconds between kills a run asks for. So each life of the bot ends at a random moment,
uniformly between 0.5 and 1.5 times `kill_every` seconds *after it reported healthy*
(GET /healthz), rather than every `kill_every` seconds of wall time; citizens keep writing
while it is down, so every start meets a backlog and every kill lands in the middle of work.

Kills go on until every message is answered and every staff reply delivered. Then the bot runs
undisturbed until nothing is pending (outbox, unhandled messages: a kill can leave a send whose
result was never recorded, which is retried once its lease runs out, so a send done twice shows
up only then), is stopped cleanly, and the fakes' records are counted.

What must hold: `lost == 0` and `staff_replies_lost == 0`, always; `duplicated <=
in_doubt_sends`. Sends are at least once: a kill after the platform accepted a send and before
the database recorded it cannot be told from a kill before the send (the Bot API has no
idempotency key, and no way to read a chat back), so the send is made again after the restart.
Any other duplicate (a message handled twice, a reply queued twice) would break the bound.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from townhall.bench_databases import throwaway_database
from townhall.db import Database
from townhall.testing.chaos_bot import BotDied, BotProcess
from townhall.testing.chaos_fakes import ChaosSlack, ChaosTelegram, StaffDesk
from townhall.testing.chaos_workload import Ledger
from townhall.testing.harness import STAFF_ID, TRIAGE_CHANNEL, free_port

PSEUDONYM_KEY = "chaos-bench-pseudonym-key-0123456789abcdef"
STALL_LIVES = 6
QUIET_SECONDS = 20.0
LEASE_SECONDS = 15.0  # a dead process's claimed sends are retried this long after the kill


@dataclass(frozen=True)
class ChaosConfig:
    messages: int = 2000
    kill_every: float = 5.0
    faults: float = 0.0
    database_url: str = ""
    seed: int = 0
    rate: float = 20.0  # citizen messages per second
    settle_timeout: float = 300.0
    timeout: float = 3600.0  # for the whole chaos phase
    min_kills: int = 0  # go on killing until this many, even once everything is answered
    keep: bool = False


def bot_environment(
    url: str, work: Path, port: int, telegram: ChaosTelegram, slack: ChaosSlack
) -> dict[str, str]:
    """The child's settings. Jobs that do not take part (the weekly digest, the trends job) are
    off; duplicate-report merging is off so that every report opens its own case."""
    return {
        "TOWNHALL_DATABASE_URL": url,
        "TOWNHALL_DATA_DIR": str(work),
        "TOWNHALL_HTTP__HOST": "127.0.0.1",
        "TOWNHALL_HTTP__PORT": str(port),
        "TOWNHALL_TELEGRAM__TOKEN": telegram.token,
        "TOWNHALL_TELEGRAM__API_URL": telegram.base_url,
        "TOWNHALL_TELEGRAM__FILE_URL": telegram.base_file_url,
        "TOWNHALL_TELEGRAM__WEBHOOK_URL": "",
        "TOWNHALL_TELEGRAM__POLL_TIMEOUT": "1",
        "TOWNHALL_SLACK__BOT_TOKEN": slack.bot_token,
        "TOWNHALL_SLACK__SIGNING_SECRET": slack.signing_secret,
        "TOWNHALL_SLACK__API_URL": slack.api_url,
        "TOWNHALL_SLACK__TRIAGE_CHANNEL": TRIAGE_CHANNEL,
        "TOWNHALL_SLACK__STAFF": STAFF_ID,
        "TOWNHALL_SLACK__MODE": "http",
        "TOWNHALL_SECURITY__PSEUDONYM_KEY": PSEUDONYM_KEY,
        "TOWNHALL_DIGEST__ENABLED": "false",
        "TOWNHALL_TRENDS__ENABLED": "false",
        "TOWNHALL_CASES__DUPLICATES__ENABLED": "false",
        "TOWNHALL_OUTBOX__BASE_DELAY": "0.5",
        "TOWNHALL_OUTBOX__POLL_INTERVAL": "0.25",
        "TOWNHALL_OUTBOX__LEASE_SECONDS": str(LEASE_SECONDS),
    }


def _database_state(url: str) -> dict[str, int]:
    """What the bot's database says is left to do, and how many sends were in doubt.

    `in_doubt_sends`: outbox items claimed more than once that never recorded a failure, so
    every earlier attempt ended with the process killed mid-send. Such a send may have reached
    the platform before the kill, and is then done twice: no Bot API call can tell whether a
    message whose answer never arrived was sent, so the outbox delivers at least once.
    """
    queries = {
        "outbox_pending": "SELECT count(*) FROM outbox WHERE status = 'pending'",
        "outbox_failed": "SELECT count(*) FROM outbox WHERE status = 'failed'",
        "unhandled_messages": "SELECT count(*) FROM messages WHERE handled_at IS NULL",
        "in_doubt_sends": (
            "SELECT count(*) FROM outbox WHERE attempts > 1 AND last_error IS NULL "
            "AND status = 'sent'"
        ),
    }
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {k: int(connection.execute(text(q)).scalar_one()) for k, q in queries.items()}
    finally:
        engine.dispose()


class ChaosRun:
    """One run: the fakes, the bot process, the citizens, the staff and the killer."""

    def __init__(self, config: ChaosConfig, url: str, work: Path, console: Console) -> None:
        self.config = config
        self.url = url
        self.console = console
        self.rng = random.Random(config.seed)
        self.telegram = ChaosTelegram()
        self.slack = ChaosSlack(seed=config.seed)
        self.port = free_port()
        self.desk = StaffDesk(self.slack, TRIAGE_CHANNEL, STAFF_ID, random.Random(config.seed + 3))
        self.ledger = Ledger(self.telegram, self.desk)
        self.work = work
        self.bot: BotProcess | None = None
        self.crashes = 0
        self.feeding_done = False
        self.stalled = False
        self._mark: tuple[int, int, int] = (-1, -1, -1)
        self._mark_start = 0
        self._quiet_since = time.monotonic()

    async def run(self) -> dict[str, Any]:
        await self.telegram.start()
        await self.slack.start()
        try:
            return await self._run()
        finally:
            if self.bot is not None:
                await self.bot.kill()
            await self.slack.stop()
            await self.telegram.stop()

    async def _run(self) -> dict[str, Any]:
        config = self.config
        self.slack.add_user(STAFF_ID, "sam.staff")
        if config.faults:
            self.telegram.faulty(config.faults, config.seed)
            self.slack.faulty(config.faults, config.seed)
        env = bot_environment(self.url, self.work, self.port, self.telegram, self.slack)
        self.bot = BotProcess(env, self.port, self.work / "bot.log")
        self.slack.deliver_to(f"http://127.0.0.1:{self.port}/slack/events")
        started = time.monotonic()
        self.console.print("starting the bot (loading models)…")
        await self._start()
        stop_killing = asyncio.Event()
        staff_done = asyncio.Event()
        tasks = [
            asyncio.create_task(self._feed(), name="chaos-feed"),
            asyncio.create_task(self._staff(staff_done), name="chaos-staff"),
            asyncio.create_task(self._kill_loop(stop_killing), name="chaos-kill"),
        ]
        timed_out = False
        try:
            timed_out = not await self._until(self._complete, config.timeout, "chaos", tasks)
            stop_killing.set()
            await tasks[2]
            if not self.bot.running:
                await self._start()
            settle_started = time.monotonic()
            settled = await self._until(self._settled, config.settle_timeout, "settling", tasks[:2])
            settle_s = time.monotonic() - settle_started
            await asyncio.sleep(1.0)  # a last look for late sends
        finally:
            staff_done.set()
            stop_killing.set()
            for task in tasks:
                if not task.done():
                    task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result
        await self.bot.stop()
        state = await asyncio.to_thread(_database_state, self.url)
        return self._figures(time.monotonic() - started, settle_s, settled and not timed_out, state)

    async def _feed(self) -> None:
        interval = 1.0 / self.config.rate if self.config.rate > 0 else 0.0
        next_at = time.monotonic()
        for _ in range(self.config.messages):
            self.ledger.send(self.rng)
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        self.feeding_done = True

    async def _staff(self, done: asyncio.Event) -> None:
        while not done.is_set():
            await self.desk.work()
            self.ledger.scan()
            await asyncio.sleep(0.2)

    async def _kill_loop(self, stop: asyncio.Event) -> None:
        """Kill at a random moment of each life, start again, until told to stop."""
        assert self.bot is not None
        every = self.config.kill_every
        while not stop.is_set():
            life = self.rng.uniform(0.5, 1.5) * every
            deadline = time.monotonic() + life
            while time.monotonic() < deadline and not stop.is_set():
                if not self.bot.running:  # died by itself: a crash, counted and restarted
                    self.crashes += 1
                    self.console.print(f"[red]the bot exited by itself; see {self.bot.log_path}")
                    break
                await asyncio.sleep(0.05)
            if stop.is_set():
                return
            await self.bot.kill()
            await self._start()

    async def _start(self, tries: int = 3) -> None:
        """Start the bot; a start that fails is a crash, counted, and tried again a few times
        (a crash loop still ends the run, with the bot's log to read)."""
        assert self.bot is not None
        for attempt in range(1, tries + 1):
            try:
                await self.bot.start()
                return
            except BotDied:
                self.crashes += 1
                if attempt == tries:
                    raise
                self.console.print(f"[red]the bot died while starting; see {self.bot.log_path}")
                await asyncio.sleep(5.0)

    async def _complete(self) -> bool:
        """Done, or stalled: nothing new answered or delivered over `STALL_LIVES` lives of the
        bot (something is lost for good; killing it more only makes the run longer)."""
        assert self.bot is not None
        if self.feeding_done and self.ledger.complete():
            return self.bot.kills >= self.config.min_kills
        mark = (
            self.ledger.unanswered,
            self.ledger.undelivered_staff_replies,
            len(self.desk.replies),
        )
        if mark != self._mark or not self.feeding_done:
            self._mark, self._mark_start = mark, self.bot.starts
        self.stalled = self.bot.starts - self._mark_start >= STALL_LIVES
        return self.stalled

    async def _settled(self) -> bool:
        """Nothing left in the database to do, and everything arrived; or nothing left to do
        and nothing arriving for `QUIET_SECONDS` (what is missing then is lost for good)."""
        if self.bot is None or not self.bot.running:
            return False
        state = await asyncio.to_thread(_database_state, self.url)
        complete = self.ledger.complete()
        mark = (self.ledger.unanswered, self.ledger.undelivered_staff_replies, -1)
        if state["outbox_pending"] or state["unhandled_messages"] or mark != self._mark:
            self._mark, self._quiet_since = mark, time.monotonic()
            return False
        return complete or time.monotonic() - self._quiet_since > QUIET_SECONDS

    async def _until(
        self,
        check: Callable[[], Awaitable[bool]],
        timeout: float,
        phase: str,
        tasks: list[asyncio.Task[None]],
    ) -> bool:
        """Poll `check` until true or `timeout`, showing progress; a helper task's error (the
        bot exiting by itself at start, say) ends the wait at once."""
        deadline = time.monotonic() + timeout
        last_report = time.monotonic()
        while not await check():
            for task in tasks:
                if task.done() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            now = time.monotonic()
            if now > deadline:
                return False
            if now - last_report > 10:
                last_report = now
                self._progress(phase)
            await asyncio.sleep(0.5)
        return True

    def _progress(self, phase: str) -> None:
        ledger, desk, bot = self.ledger, self.desk, self.bot
        assert bot is not None
        answered = len(ledger.sent) - ledger.unanswered
        self.console.print(
            f"{phase}: sent {len(ledger.sent)}/{self.config.messages}, answered {answered}, "
            f"staff replies {len(desk.replies) - ledger.undelivered_staff_replies}"
            f"/{len(desk.replies)}, restarts {max(0, bot.starts - 1)}"
        )

    def _figures(
        self,
        wall: float,
        settle_s: float,
        settled: bool,
        state: dict[str, int],
    ) -> dict[str, Any]:
        assert self.bot is not None
        startups = self.bot.startup_seconds
        figures = self.ledger.figures()
        return {
            "benchmark": "chaos",
            "database": make_url(self.url).get_backend_name(),
            "messages": self.config.messages,
            "kill_every_s": self.config.kill_every,
            "faults": self.config.faults,
            "seed": self.config.seed,
            **figures,
            "restarts": self.bot.starts - 1,
            "kills": self.bot.kills,
            "crashes": self.crashes,
            "startup_s_median": round(statistics.median(startups), 1),
            "startup_s_max": round(max(startups), 1),
            "faults_injected": self.telegram.faults_count + self.slack.faults_count,
            **state,
            "settled": settled,
            "stalled": self.stalled,
            "settle_s": round(settle_s, 1),
            "wall_s": round(wall, 1),
        }


def run_bench_chaos(config: ChaosConfig, console: Console) -> dict[str, Any]:
    """The whole bench on a throwaway database; returns the JSON-ready figures."""
    with throwaway_database(config.database_url, config.keep, console, "townhall-chaos-") as (
        url,
        work,
    ):
        database = Database(url)
        try:
            database.upgrade()  # PostgreSQL is never migrated by the bot itself
        finally:
            database.close()
        return asyncio.run(ChaosRun(config, url, work, console).run())
