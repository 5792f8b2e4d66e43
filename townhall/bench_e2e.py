"""`townhall bench e2e`: citizens writing at a steady rate to the real bot, timed at the fake.

The bench runs the fakes (Telegram, Slack) in its own event loop and the real bot as a child
process (`townhall run`, as `townhall bench chaos` does: `townhall.testing.chaos_bot`), with the
real SDKs between them. Citizens write open loop: `rate` messages per second for `seconds`
seconds, at moments drawn as a Poisson process (or evenly spaced), never waiting for replies.
Each message comes from a new citizen (its own private chat), so everything the bot sends to a
chat answers that one message, and no citizen comes near the flood limits. Texts are the
questions the FAQ answers at once and the reports that open a staff case (with a card in Slack;
duplicate-report merging is off, so each report opens its own case) of
`townhall.testing.chaos_workload`: either way the citizen gets exactly one message back (the
answer, or the case number).

Timing happens at the fake (its `observers` hook): from the moment the citizen's update is put
in the fake's queue (getUpdates or webhook) to the moment the fake records the bot's first
sendMessage to that chat. So the figures include everything a citizen waits for: the long poll
(or webhook POST), the bot's handling, its outbox and the SDK's HTTP call.

- *lost*: no reply within `reply_timeout` seconds after the last message was sent;
- *duplicated*: replies beyond the first one in a chat (counted until 1 s after the last reply);
- *msgs_per_s*: answered messages over the time from the first message to the last reply;
- *rss_mb*: the bot process's peak resident memory (VmHWM), read before it is stopped;
- *bot_cpu_pct*, *bench_cpu_pct*: CPU time of the bot and of the bench (fakes, citizens) over
  the timed phase, in percent of one core (the machine's cores are shared by both);
  *load_avg_1m*: the machine's load average at the end, as a warning of other work's noise.

A few messages are sent one at a time before timing starts (`warmup`), so the first use of
connections and caches is not counted. `find_max_rate` keeps the same bot for a series of short
steps: up by half while p95 holds the limit, then halving the interval between the best rate
that held and the lowest that did not, until they are within 10%.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy.engine import make_url

from townhall.bench_chaos import bot_environment
from townhall.bench_databases import throwaway_database
from townhall.db import Database
from townhall.testing.chaos_bot import BotProcess
from townhall.testing.chaos_fakes import ChaosSlack, ChaosTelegram
from townhall.testing.chaos_workload import FAQ_QUESTIONS, REPORTS
from townhall.testing.harness import STAFF_ID, WEBHOOK_SECRET, free_port

FIRST_CHAT = 800_000_000
SETTLE_SECONDS = 1.0  # after the last reply, for late duplicates
MODES = ("polling", "webhook")
BACKENDS = ("onnx", "torch")
SCHEDULES = ("poisson", "even")


@dataclass(frozen=True)
class E2EConfig:
    rate: float = 50.0  # messages per second (the first step's rate with find_max_rate)
    seconds: float = 60.0
    database_url: str = ""
    backend: str = "onnx"
    mode: str = "polling"
    schedule: str = "poisson"
    report_share: float = 0.2  # share of messages that open a case
    seed: int = 0
    warmup: int = 10
    reply_timeout: float = 30.0
    find_max_rate: bool = False
    step_seconds: float = 15.0
    p95_limit_ms: float = 200.0
    max_steps: int = 10
    keep: bool = False


@dataclass
class Timings:
    """The fake's observer: when each chat's update was queued, and when replies reached it."""

    queued: dict[int, float] = field(default_factory=dict)
    replies: dict[int, list[float]] = field(default_factory=dict)

    def __call__(self, kind: str, record: Any) -> None:
        now = time.perf_counter()
        if kind == "update" and isinstance(record, dict):
            chat = (record.get("message") or {}).get("chat", {}).get("id")
            if isinstance(chat, int):
                self.queued.setdefault(chat, now)
        elif kind == "sent" and record.get("method") == "sendMessage":
            self.replies.setdefault(int(record["chat_id"]), []).append(now)

    def answered(self, chats: list[int]) -> int:
        return sum(1 for chat in chats if chat in self.replies)


def _percentile(values: list[float], q: float) -> float | None:
    """Nearest rank, as `townhall bench roundtrip` computes it."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)


class Child:
    """What /proc says about the bot process: peak memory, CPU time."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def peak_rss_mb(self) -> float | None:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        return None

    def cpu_seconds(self) -> float | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{self.pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return None


@contextlib.contextmanager
def _cpu(child: Child, into: dict[str, Any]) -> Iterator[None]:
    """Percent of one core used by the bot and by the bench while the block runs."""
    wall, own, bot = time.perf_counter(), time.process_time(), child.cpu_seconds()
    yield
    wall = time.perf_counter() - wall
    used = child.cpu_seconds()
    if bot is not None and used is not None:
        into["bot_cpu_pct"] = round(100 * (used - bot) / wall, 1)
    into["bench_cpu_pct"] = round(100 * (time.process_time() - own) / wall, 1)


class E2ERun:
    """One bot process, the fakes, and the citizens; one or several timed steps."""

    def __init__(self, config: E2EConfig, url: str, work: Path, console: Console) -> None:
        self.config = config
        self.url = url
        self.work = work
        self.console = console
        self.rng = random.Random(config.seed)
        self.telegram = ChaosTelegram()  # no faults are set: the plain fakes
        self.slack = ChaosSlack(seed=config.seed)
        self.timings = Timings()
        self.telegram.observers.append(self.timings)
        self.port = free_port()
        self.bot: BotProcess | None = None
        self._next_chat = FIRST_CHAT

    def environment(self) -> dict[str, str]:
        """`townhall bench chaos`'s settings (fakes, no digest or trends job, no merging of
        duplicate reports), with the encoder backend, the Telegram mode and the production
        poll timeout (the fake answers a long poll as soon as an update arrives)."""
        env = bot_environment(self.url, self.work, self.port, self.telegram, self.slack)
        env["TOWNHALL_CLASSIFIERS__BACKEND"] = self.config.backend
        env["TOWNHALL_TELEGRAM__POLL_TIMEOUT"] = "30"
        if self.config.mode == "webhook":
            env["TOWNHALL_TELEGRAM__WEBHOOK_URL"] = f"http://127.0.0.1:{self.port}/telegram/webhook"
            env["TOWNHALL_TELEGRAM__WEBHOOK_SECRET"] = WEBHOOK_SECRET
        return env

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
        self.bot = BotProcess(self.environment(), self.port, self.work / "bot.log")
        self.slack.deliver_to(f"http://127.0.0.1:{self.port}/slack/events")
        self.console.print(f"starting the bot ({config.backend}, {config.mode}; loading models)…")
        startup = await self.bot.start()
        assert self.bot.process is not None
        child = Child(self.bot.process.pid)
        self.console.print(f"healthy after {startup:.1f}s; warming up")
        await self._warm_up()
        if config.find_max_rate:
            result = await self._find_max_rate(child)
        else:
            result = await self._step(config.rate, config.seconds, child)
        rss = child.peak_rss_mb()
        await self.bot.stop()
        head = {
            "benchmark": "e2e_max_rate" if config.find_max_rate else "e2e",
            "database": make_url(self.url).get_backend_name(),
            "backend": config.backend,
            "mode": config.mode,
            "schedule": config.schedule,
        }
        return {**head, **result, "rss_mb": rss, "startup_s": round(startup, 1)}

    # -- citizens ------------------------------------------------------------------------------
    def _send(self) -> int:
        """A new citizen writes one message (a question or a report); returns its chat id."""
        chat, self._next_chat = self._next_chat, self._next_chat + 1
        texts = REPORTS if self.rng.random() < self.config.report_share else FAQ_QUESTIONS
        self.telegram.user_sends(
            self.rng.choice(texts), user_id=chat, first_name=f"Citizen{chat - FIRST_CHAT}"
        )
        return chat

    async def _warm_up(self) -> None:
        for _ in range(self.config.warmup):
            chat = self._send()
            if not await self._until_answered([chat], time.monotonic() + 60):
                raise TimeoutError(f"a warm-up message got no reply; see {self.work / 'bot.log'}")
        await asyncio.sleep(SETTLE_SECONDS)

    def _schedule(self, rate: float, seconds: float) -> list[float]:
        """Send moments (seconds from the start): `rate * seconds` of them."""
        n = max(1, round(rate * seconds))
        if self.config.schedule == "even":
            return [i / rate for i in range(n)]
        return sorted(self.rng.uniform(0, seconds) for _ in range(n))  # Poisson, given n

    async def _feed(self, moments: list[float], chats: list[int]) -> None:
        start = time.perf_counter()
        for moment in moments:
            delay = start + moment - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            chats.append(self._send())

    async def _until_answered(self, chats: list[int], deadline: float) -> bool:
        while self.timings.answered(chats) < len(chats):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    # -- one timed step ------------------------------------------------------------------------
    async def _step(self, rate: float, seconds: float, child: Child) -> dict[str, Any]:
        assert self.bot is not None
        moments = self._schedule(rate, seconds)
        chats: list[int] = []
        figures: dict[str, Any] = {}
        with _cpu(child, figures):
            feeding = asyncio.create_task(self._feed(moments, chats), name="e2e-feed")
            last_report = time.monotonic()
            while not feeding.done():
                await asyncio.sleep(0.2)
                if not self.bot.running:
                    feeding.cancel()
                    raise RuntimeError(f"the bot exited; see {self.bot.log_path}")
                if time.monotonic() - last_report >= 10:
                    last_report = time.monotonic()
                    answered = self.timings.answered(chats)
                    self.console.print(
                        f"rate {rate:g}/s: sent {len(chats)}/{len(moments)}, answered {answered}"
                    )
            await feeding
            await self._until_answered(chats, time.monotonic() + self.config.reply_timeout)
        await asyncio.sleep(SETTLE_SECONDS)
        return {**self._figures(rate, seconds, chats), **figures}

    def _figures(self, rate: float, seconds: float, chats: list[int]) -> dict[str, Any]:
        queued, replies = self.timings.queued, self.timings.replies
        answered = [chat for chat in chats if chat in replies]
        latencies = [(replies[chat][0] - queued[chat]) * 1000 for chat in answered]
        span = max((replies[c][0] for c in answered), default=0.0) - min(
            (queued[c] for c in chats), default=0.0
        )
        return {
            "rate": rate,
            "seconds": seconds,
            "sent": len(chats),
            "answered": len(answered),
            "lost": len(chats) - len(answered),
            "duplicated": sum(len(replies[chat]) - 1 for chat in answered),
            "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "p95_ms": _percentile(latencies, 0.95),
            "p99_ms": _percentile(latencies, 0.99),
            "max_ms": round(max(latencies), 1) if latencies else None,
            "msgs_per_s": round(len(answered) / span, 1) if answered and span > 0 else None,
            "load_avg_1m": round(os.getloadavg()[0], 2),  # the machine's, to judge the noise
        }

    # -- the highest rate that holds the p95 limit ---------------------------------------------
    def _holds(self, step: dict[str, Any]) -> bool:
        p95 = step["p95_ms"]
        return (
            step["lost"] == 0
            and step["duplicated"] == 0
            and p95 is not None
            and p95 <= self.config.p95_limit_ms
        )

    async def _find_max_rate(self, child: Child) -> dict[str, Any]:
        config = self.config
        best: float | None = None  # the highest rate that held
        worst: float | None = None  # the lowest rate that did not
        steps: list[dict[str, Any]] = []
        rate = config.rate
        for _ in range(config.max_steps):
            step = await self._step(rate, config.step_seconds, child)
            step["held"] = self._holds(step)
            steps.append(step)
            self.console.print(
                f"rate {rate:g}/s: p95 {step['p95_ms']} ms, lost {step['lost']}, "
                f"{'held' if step['held'] else 'did not hold'}"
            )
            if step["held"]:
                best = rate if best is None else max(best, rate)
            else:
                worst = rate if worst is None else min(worst, rate)
            if worst is None:
                rate = rate * 1.5
            elif best is None:
                rate = rate / 2
            elif worst / best <= 1.1:
                break
            else:
                rate = (best + worst) / 2
            rate = round(rate, 1)
            await self._drain()
        limit = f"{config.p95_limit_ms:g}"
        return {
            f"max_rate_p95_{limit}ms": best,
            "p95_limit_ms": config.p95_limit_ms,
            "step_seconds": config.step_seconds,
            "steps": steps,
        }

    async def _drain(self, timeout: float = 300.0) -> None:
        """Before the next step: every message sent so far answered (an overloaded step leaves
        a backlog), and a moment for the outbox's last sends."""
        chats = list(self.timings.queued)
        if not await self._until_answered(chats, time.monotonic() + timeout):
            self.console.print("[yellow]some messages are still unanswered; going on")
        await asyncio.sleep(2.0)


def run_bench_e2e(config: E2EConfig, console: Console) -> dict[str, Any]:
    """The whole bench on a throwaway database; returns the JSON-ready figures."""
    if config.mode not in MODES or config.backend not in BACKENDS:
        raise ValueError(f"--mode is one of {MODES}, --backend one of {BACKENDS}")
    if config.schedule not in SCHEDULES:
        raise ValueError(f"--schedule is one of {SCHEDULES}")
    with throwaway_database(config.database_url, config.keep, console, "townhall-e2e-") as (
        url,
        work,
    ):
        database = Database(url)
        try:
            database.upgrade()  # PostgreSQL is never migrated by the bot itself
        finally:
            database.close()
        return asyncio.run(E2ERun(config, url, work, console).run())
