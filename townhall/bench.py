"""Benchmarks that print one JSON object of figures (never timed tests).

`townhall bench roundtrip`: the time from a citizen's message arriving at the (fake) Telegram API
to the bot's FAQ answer arriving back there, through the real SDK, HTTP, database and models.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Literal

from townhall.app import Models
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
