"""Benchmarks that print one JSON object of figures (never timed tests).

`townhall bench roundtrip`: the time from a citizen's message arriving at the (fake) Telegram API
to the bot's FAQ answer arriving back there, through the real SDK, HTTP, database and models.
`townhall bench x`: the same for X mentions through tweepy and the fake X API, plus the
throughput of a burst of mentions.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Literal

from townhall.models import Models
from townhall.testing.fake_x import FakeX
from townhall.testing.harness import running_townhall

QUESTIONS = [
    "When is my garbage picked up?",
    "how do I pay a parking ticket",
    "There is a pothole on my street",
    "What are the library hours?",
    "How do I get a pet licence for my dog?",
    "When is property tax due?",
    "my neighbours are really loud at night",
    "a street light is out on my block",
]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def roundtrip(
    n: int, mode: Literal["polling", "webhook"], models: Models | None = None
) -> dict[str, object]:
    """Sequential FAQ questions from distinct citizens; milliseconds per round trip."""
    models = models or await asyncio.to_thread(Models.load)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        async with running_townhall(
            models, database_url=url, data_dir=Path(tmp), telegram_mode=mode,
            security={"pseudonym_key": "benchmark-pseudonym-key-0123456789"},
        ) as harness:
            timings: list[float] = []
            for i in range(n + 5):  # the first few warm up caches and connections
                chat = 900000 + i
                started = time.perf_counter()
                harness.telegram.user_sends(QUESTIONS[i % len(QUESTIONS)], user_id=chat)
                await harness.wait_for_reply(chat, timeout=30)
                if i >= 5:
                    timings.append((time.perf_counter() - started) * 1000)
    return {
        "benchmark": "telegram_faq_roundtrip",
        "mode": mode,
        "database": "sqlite",
        "n": n,
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(_percentile(timings, 0.95), 2),
        "max_ms": round(max(timings), 2),
    }


async def x_mentions(
    n: int, poll_interval: float = 0.2, models: Models | None = None
) -> dict[str, object]:
    """X mentions through the fake X API: throughput of a burst, latency of single mentions.

    Burst: `n` FAQ mentions appear at once; mentions/s until every one has its reply post.
    Latency: one mention at a time, from appearing on X to the reply post, which includes
    waiting for the next poll (on average half of `poll_interval`).
    """
    models = models or await asyncio.to_thread(Models.load)
    # X's real budgets (200 posts per 15 min) would make this a benchmark of waiting
    unlimited = {name: (100_000, 900.0) for name in ("me", "mentions", "post")}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        async with FakeX(rate_limits=unlimited) as fake_x, running_townhall(
            models, database_url=url, data_dir=Path(tmp), x=fake_x,
            x_settings={"poll_interval": poll_interval},
            security={"pseudonym_key": "benchmark-pseudonym-key-0123456789"},
        ) as harness:
            fake = harness.x
            assert fake is not None
            for i in range(5):  # warm up
                await harness.wait_for_x_reply(fake.mention(QUESTIONS[i], by=f"warm{i}"))
            started = time.perf_counter()
            burst = [fake.mention(QUESTIONS[i % len(QUESTIONS)], by=f"burst{i}")
                     for i in range(n)]
            wanted = {m["id"] for m in burst}

            def all_answered() -> bool:
                answered = {r["id"] for p in fake.posts for r in p["referenced_tweets"]}
                return wanted <= answered

            await fake.wait_for(all_answered, timeout=600)
            burst_seconds = time.perf_counter() - started
            latencies: list[float] = []
            for i in range(20):
                started = time.perf_counter()
                mention = fake.mention(QUESTIONS[i % len(QUESTIONS)], by=f"single{i}")
                await harness.wait_for_x_reply(mention, timeout=30)
                latencies.append((time.perf_counter() - started) * 1000)
    return {
        "benchmark": "x_mentions",
        "database": "sqlite",
        "poll_interval_s": poll_interval,
        "burst": n,
        "burst_mentions_per_s": round(n / burst_seconds, 1),
        "latency_p50_ms": round(statistics.median(latencies), 1),
        "latency_p95_ms": round(_percentile(latencies, 0.95), 1),
        "latency_max_ms": round(max(latencies), 1),
    }
