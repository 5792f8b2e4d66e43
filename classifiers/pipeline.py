"""Runs the classifier stages over incoming texts, in micro-batches, off the event loop.

Callers await `classify(text)` one message at a time. Behind it, one worker task drains whatever
has queued up meanwhile and hands the whole batch to the stages on a thread: a lone message is
classified at once, and a burst is classified in batches, which is where the encoder is fastest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from classifiers.base import Stage
from townhall.domain import Classification


class Parallel:
    """Stages that do not read each other's output, run side by side on their own threads.

    Why: the two transformer encoders (sentence embedding, tweet model) each spend most of a
    batch in native code that releases the GIL. On two cores, one single-threaded session per
    encoder running at the same time does more work per second than both in turn with two
    threads each, whose small matrix products do not split well across cores.
    """

    def __init__(self, *stages: Stage):
        self.stages = stages
        self.name = "+".join(stage.name for stage in stages)
        self._pool = ThreadPoolExecutor(len(stages), thread_name_prefix="stage")

    def classify(self, texts: list[str], results: list[Classification]) -> None:
        # each stage writes its own fields of the results, so sharing them is safe
        futures = [self._pool.submit(stage.classify, texts, results) for stage in self.stages]
        for future in futures:
            future.result()


class Pipeline:
    def __init__(self, stages: Sequence[Stage], *, batch_size: int = 32):
        self.stages = list(stages)
        self.batch_size = batch_size
        self._queue: asyncio.Queue[tuple[str, asyncio.Future[Classification]]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        # how well requests batch under load (`townhall bench pipeline` reports the mean)
        self.batches = 0
        self.batched_texts = 0

    def classify_batch(self, texts: list[str]) -> list[Classification]:
        """Run every stage over `texts` on the calling thread."""
        results = [Classification() for _ in texts]
        for stage in self.stages:
            stage.classify(texts, results)
        return results

    async def classify(self, text: str) -> Classification:
        if self._worker is None:
            self._worker = asyncio.create_task(self._run(), name="classifier-pipeline")
        future: asyncio.Future[Classification] = asyncio.get_running_loop().create_future()
        await self._queue.put((text, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            texts = [text for text, _ in batch]
            self.batches += 1
            self.batched_texts += len(texts)
            try:
                results = await asyncio.to_thread(self.classify_batch, texts)
            except Exception as exc:  # a broken stage fails the callers, not the worker
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
