"""`townhall bench pipeline`: how many citizen messages a second the bot handles, next to what
its models alone can do on the same texts.

The benchmark builds the real application (`Townhall`) with no platform credentials, so no
channel runs, on a throwaway database (`bench_databases`), and feeds N messages straight into its
ingestor, `concurrency` of them in flight at once: store, classify (the pipeline micro-batches
what is waiting), run the responder chain (FAQ answers, cases, follow-ups) and record the reply
in the outbox, exactly as a Telegram update would. Nothing is sent: the outbox is not started.

The messages are real texts from the shared TRAIN and validation splits (never a test split):
CLINC150 questions, Newport SeeClickFix service requests, TweetEval tweets, plus the FAQ's own
example questions in English, Spanish and French; most citizens write once, some write again.

In the same run, the same texts go through the classifier stages alone (`Pipeline.classify_batch`
in batches of the pipeline's batch size: no database, no responders), which is the practical
limit, and through the MiniLM sentence encoder alone. `overhead_ratio` is the full path's rate
over the stages' rate: 1.0 would mean storage and orchestration cost nothing next to the models.
The ingest is timed in rounds of about `ROUND_MESSAGES`, each between two halves of the
stages-alone measurement, so that other work on the machine weighs on both figures alike.
Latency is per message, from the ingest call to its return; `single_message_p50_ms` is the same
for messages sent one at a time after the run (a lone message is not held for a batch).
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

from classifiers.datasets import read_records
from classifiers.onnx_backend import OnnxEncoder
from listening.ingest import CLASSIFY_CHARS
from listening.models import Message, OutboxItem
from responders.faq import load_knowledge_base
from responders.models import Case
from townhall.bench_databases import throwaway_database
from townhall.domain import Address, InboundMessage, Sender
from townhall.models import Models
from townhall.settings import Settings, SlackSettings, TelegramSettings, XSettings

SHARED_DATA = Path("../shared/data")
PSEUDONYM_KEY = "benchmark-pseudonym-key-0123456789"
FIRST_USER_ID = 700_000_000  # Telegram-shaped user ids, far from the fakes' and the demo's

# Where the messages come from, and what share of them: (source, weight).
MIX = (("faq_en", 0.25), ("faq_es_fr", 0.05), ("service_request", 0.20), ("clinc150", 0.25),
       ("tweet", 0.25))
REPEAT_SHARE = 0.25  # messages from a citizen who wrote before
MAX_PER_CITIZEN = 4  # well under the flood rule (12 a minute): nobody is muted
ROUND_MESSAGES = 1000  # the ingest is timed in rounds of about this many (see `_bench`)


@dataclass(frozen=True)
class BenchMessage:
    source: str
    text: str
    language_code: str


def _texts(path: Path) -> list[str]:
    return [record["text"] for record in read_records(path) if record["text"].strip()]


def load_sources(data_dir: Path, faq_path: Path) -> dict[str, list[tuple[str, str]]]:
    """(text, Telegram language code) per source, from TRAIN and validation splits only."""
    _, entries = load_knowledge_base(faq_path)
    foreign = [
        (str(question), language)
        for entry in entries
        for language, translation in entry.translations.items()
        for question in translation.get("questions", [])
    ]
    english = [(q, "en") for entry in entries for q in entry.questions]

    def tagged(*paths: str) -> list[tuple[str, str]]:
        return [(text, "en") for path in paths for text in _texts(data_dir / path)]

    return {
        "faq_en": english,
        "faq_es_fr": foreign,
        "service_request": tagged("newport_seeclickfix/train.jsonl"),
        "clinc150": tagged("clinc150/validation.jsonl", "clinc150/train.jsonl"),
        "tweet": tagged("tweeteval_sentiment/validation.jsonl"),
    }


def sample_messages(
    sources: dict[str, list[tuple[str, str]]], count: int, rng: random.Random
) -> list[BenchMessage]:
    """`count` messages in the proportions of `MIX`, each source drawn without replacement
    (cycling when it runs out: the service requests are few)."""
    names = [name for name, _ in MIX]
    weights = [weight for _, weight in MIX]
    pools: dict[str, list[tuple[str, str]]] = {}

    def draw(name: str) -> tuple[str, str]:
        if not pools.get(name):
            pools[name] = rng.sample(sources[name], len(sources[name]))
        return pools[name].pop()

    picks = rng.choices(names, weights, k=count)
    return [BenchMessage(name, *draw(name)) for name in picks]


class Citizens:
    """Who writes each message: mostly new citizens, some returning (private Telegram chats)."""

    def __init__(self, rng: random.Random, first_user_id: int):
        self.rng = rng
        self.next_user_id = first_user_id
        self.sent: dict[int, int] = {}  # user id -> messages so far
        self.texts: dict[int, set[str]] = {}
        self.returning: list[int] = []

    def event(self, message: BenchMessage) -> InboundMessage:
        user_id = self._returning(message.text) if self.rng.random() < REPEAT_SHARE else None
        if user_id is None:
            user_id, self.next_user_id = self.next_user_id, self.next_user_id + 1
            self.returning.append(user_id)
        count = self.sent[user_id] = self.sent.get(user_id, 0) + 1
        self.texts.setdefault(user_id, set()).add(message.text)
        if count >= MAX_PER_CITIZEN and user_id in self.returning:
            self.returning.remove(user_id)
        chat = str(user_id)
        return InboundMessage(
            channel="telegram",
            external_id=f"{chat}:{count}",
            address=Address("telegram", chat, None, str(count)),
            sender=Sender(chat, f"Resident {user_id - FIRST_USER_ID}", message.language_code),
            text=message.text,
            sent_at=datetime.now(UTC),
        )

    def _returning(self, text: str) -> int | None:
        """A citizen who wrote before and not this text (a repeat would be taken for spam)."""
        for _ in range(3):
            if not self.returning:
                return None
            user_id = self.rng.choice(self.returning)
            if text not in self.texts[user_id]:
                return user_id
        return None


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def peak_rss_mb() -> float:
    """Peak resident memory of this process (ru_maxrss is in KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def _feed(
    ingest: Callable[[InboundMessage], Any], events: Sequence[InboundMessage], concurrency: int,
    advance: Callable[[], None] = lambda: None,
) -> list[float]:
    """Ingest every event with at most `concurrency` in flight; the milliseconds each took."""
    pending: Iterator[InboundMessage] = iter(events)
    latencies: list[float] = []

    async def worker() -> None:
        for event in pending:  # shared iterator: each event is taken by one worker
            started = time.perf_counter()
            await ingest(event)
            latencies.append((time.perf_counter() - started) * 1000)
            advance()

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    return latencies


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


@dataclass
class Limits:
    """Seconds the classifier stages alone (`Pipeline.classify_batch`), and the sentence
    encoder alone, take over texts, in batches of the pipeline's size: no database, no
    responders, no event loop."""

    stages: Callable[[list[str]], object]
    encoder: Callable[[list[str]], object]
    batch_size: int
    stages_s: float = 0.0
    encoder_s: float = 0.0

    def measure(self, texts: list[str]) -> None:
        self.stages_s += self._time(self.stages, texts)
        self.encoder_s += self._time(self.encoder, texts)

    def _time(self, run: Callable[[list[str]], object], texts: list[str]) -> float:
        started = time.perf_counter()
        for start in range(0, len(texts), self.batch_size):
            run(texts[start : start + self.batch_size])
        return time.perf_counter() - started


def _counts(session: Session) -> dict[str, int]:
    """Messages handled, replies queued and cases so far."""
    def count(model: type, *where: Any) -> int:
        return int(session.execute(select(func.count()).select_from(model).where(*where))
                   .scalar_one())

    return {
        "handled": count(Message, col(Message.handled_at).is_not(None)),
        "replies_queued": count(OutboxItem, OutboxItem.kind == "message",
                                col(OutboxItem.key).like("reply:%")),
        "cases": count(Case),
    }


def _responders(session: Session, first_message_id: int) -> dict[str, int]:
    """Which responder answered the measured messages, most frequent first."""
    rows = session.execute(
        select(Message.responder, func.count())
        .where(Message.id >= first_message_id).group_by(Message.responder)
    ).all()
    return {str(name): int(n) for name, n in sorted(rows, key=lambda row: -row[1])}


def _first_message_id(session: Session) -> int:
    last = session.execute(select(func.max(Message.id))).scalar_one()
    return int(last or 0) + 1


def bench_settings(database_url: str, work: Path, backend: str | None) -> Settings:
    """The configured settings on the throwaway database, with no platform credentials at all
    (whatever the environment says): the app builds, and no channel or console runs."""
    settings = Settings.load(
        database_url=database_url, data_dir=work,
        security={"pseudonym_key": PSEUDONYM_KEY},
        digest={"enabled": False, "out_dir": work / "digests"},
    )
    classifiers = settings.classifiers.model_copy(
        update={"backend": backend or settings.classifiers.backend})
    return settings.model_copy(update={
        "telegram": TelegramSettings(), "slack": SlackSettings(), "x": XSettings(),
        "classifiers": classifiers,
    })


async def _bench(
    settings: Settings, models: Models, measured: list[InboundMessage],
    warmup: list[InboundMessage], single: list[InboundMessage], concurrency: int,
    rounds: int, console: Console,
) -> dict[str, Any]:
    from townhall.app import Townhall

    await asyncio.to_thread(_migrate, settings.database_url)
    bot = Townhall(settings, models)
    pipeline = bot.pipeline
    try:
        await bot.knowledge.reload()  # as `Townhall.start` does; the outbox is left stopped
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console, transient=True) as progress:
            task = progress.add_task("warming up", total=len(warmup))
            await _feed(bot.ingestor, warmup, concurrency, lambda: progress.advance(task))
            progress.update(task, visible=False)

            # The limits are measured on the same texts as the ingest, in rounds: a round's
            # first half through the stages alone, the round's messages through the bot, its
            # second half through the stages alone. A machine that gets busier or quieter
            # during the run (other work on it) then weighs on both figures alike.
            limits = Limits(pipeline.classify_batch, models.encoder.encode, pipeline.batch_size)
            first_id = await bot.db.run(_first_message_id)
            before = await bot.db.run(_counts)
            task = progress.add_task("ingest", total=len(measured))
            batches_before = pipeline.batches, pipeline.batched_texts
            elapsed, latencies = 0.0, []
            size = -(-len(measured) // rounds)
            for start in range(0, len(measured), size):
                part = measured[start : start + size]
                texts = [event.text[:CLASSIFY_CHARS] for event in part]
                await asyncio.to_thread(limits.measure, texts[: len(texts) // 2])
                started = time.perf_counter()
                latencies += await _feed(bot.ingestor, part, concurrency,
                                         lambda: progress.advance(task))
                elapsed += time.perf_counter() - started
                await asyncio.to_thread(limits.measure, texts[len(texts) // 2 :])
            batches = pipeline.batches - batches_before[0]
            batched = pipeline.batched_texts - batches_before[1]
            progress.update(task, visible=False)
            after = await bot.db.run(_counts)
            outcome: dict[str, Any] = {key: after[key] - before[key] for key in after}
            outcome["responders"] = await bot.db.run(_responders, first_id)

            single_task = progress.add_task("one message at a time", total=len(single))
            single_latencies = await _feed(bot.ingestor, single, 1,
                                           lambda: progress.advance(single_task))
            progress.update(single_task, visible=False)
    finally:
        await bot.stop()
    msgs_per_s = len(measured) / elapsed
    stages_per_s = len(measured) / limits.stages_s
    return {
        "msgs_per_s": round(msgs_per_s, 1),
        "encoder_only_msgs_per_s": round(stages_per_s, 1),
        "sentence_encoder_only_msgs_per_s": _rate(len(measured), limits.encoder_s),
        "overhead_ratio": round(msgs_per_s / stages_per_s, 3),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(_percentile(latencies, 0.95), 1),
        "max_ms": round(max(latencies), 1),
        "single_message_p50_ms": round(statistics.median(single_latencies), 1)
        if single_latencies else None,
        "mean_batch": round(batched / batches, 1) if batches else 0.0,
        "pipeline_batch_size": pipeline.batch_size,
        "elapsed_s": round(elapsed, 2),
        "stages_only_s": round(limits.stages_s, 2),
        "rounds": -(-len(measured) // size),
        **outcome,
    }


def _migrate(url: str) -> None:
    from townhall.db import Database

    database = Database(url)
    try:
        database.upgrade()
    finally:
        database.close()


def run_bench_pipeline(
    n: int = 5000,
    *,
    concurrency: int = 64,
    warmup: int = 300,
    single: int = 30,
    database_url: str = "",
    backend: str | None = None,
    models: Models | None = None,
    data_dir: Path = SHARED_DATA,
    keep: bool = False,
    seed: int = 0,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run the benchmark and return its figures (one JSON-able dict).

    `models`: already loaded models (the tests' session models), whose backend is reported;
    otherwise they are loaded for `backend`, by default the configured `[classifiers] backend`.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    console = console or Console(stderr=True)
    rng = random.Random(seed)
    with throwaway_database(database_url, keep, console, prefix="townhall-bench-pipeline-") as (
        url, work
    ):
        if models is not None:  # the backend they were loaded for
            backend = "onnx" if isinstance(models.encoder, OnnxEncoder) else "torch"
        settings = bench_settings(url, work, backend)
        backend = settings.classifiers.backend
        if models is None:
            with console.status(f"Loading the models ({backend})…"):
                models = Models.load(backend, settings.classifiers.onnx_cache)
        sources = load_sources(data_dir, settings.faq.path)
        citizens = Citizens(rng, FIRST_USER_ID)
        warmup_events = [citizens.event(m) for m in sample_messages(sources, warmup, rng)]
        messages = sample_messages(sources, n, rng)
        measured = [citizens.event(m) for m in messages]
        single_events = [citizens.event(m) for m in sample_messages(sources, single, rng)]
        rounds = max(1, min(n // ROUND_MESSAGES, 10))
        figures = asyncio.run(_bench(settings, models, measured, warmup_events, single_events,
                                     concurrency, rounds, console))
    return {
        "benchmark": "pipeline",
        "backend": backend,
        "database": "sqlite" if make_url(url).get_backend_name() == "sqlite" else "postgresql",
        "n": n,
        "concurrency": concurrency,
        "warmup": warmup,
        **figures,
        "citizens": len({event.sender.user_id for event in measured}),
        "sources": {name: sum(m.source == name for m in messages) for name, _ in MIX},
        "rss_mb": peak_rss_mb(),
        "cpus": os.cpu_count(),
    }
