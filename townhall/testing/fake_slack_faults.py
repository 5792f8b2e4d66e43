"""Fault injection for the fake Slack Web API: rate limits, 5xx, hung and dropped requests.

Faults are decided before the method handler runs, so a failed call never changes the workspace;
that is what lets a test prove "retried after Retry-After and recorded exactly once".
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

from townhall.testing.fake_slack_api import WRITE_METHODS


@dataclass
class _FaultRule:
    method: str
    kind: str
    retry_after: int
    remaining: int


class FaultInjection:
    """Mixin for :class:`FakeSlack`: ``fail_next`` / ``fault_rate`` and the faulty responses."""

    timeout_delay: float
    _stopping: asyncio.Event

    def _init_faults(self) -> None:
        self.faults: list[tuple[str, str]] = []
        self._rules: list[_FaultRule] = []
        self._rate: tuple[float, tuple[str, ...], int, random.Random] | None = None

    def fail_next(
        self, method: str, *, status: int | str = 429, retry_after: int = 1, count: int = 1
    ) -> None:
        """Fail the next ``count`` calls of ``method`` ("*" = any) with no effect.

        ``status`` 429 answers ``Retry-After`` + ``{"ok": false, "error": "ratelimited"}``; 5xx
        answers plain text; ``"timeout"`` holds the request ``timeout_delay`` seconds (then 504);
        ``"drop"`` closes the connection without a response.
        """
        self._rules.append(_FaultRule(method, str(status), retry_after, count))

    def fault_rate(
        self,
        rate: float,
        *,
        kinds: Iterable[str] = ("429", "500", "timeout", "drop"),
        retry_after: int = 1,
        seed: int = 0,
    ) -> None:
        """Randomly fail ``rate`` (0..1) of write-method calls with one of ``kinds``; 0 disables.

        Only writes (chat.*, views.*, reactions.*, files.*) are affected, so a bot's start-up
        reads stay reliable while its retry logic for side effects is exercised. Seeded.
        """
        self._rate = (rate, tuple(kinds), retry_after, random.Random(seed)) if rate > 0 else None

    def _pick_fault(self, method: str) -> tuple[str, int] | None:
        for rule in self._rules:
            if rule.remaining > 0 and rule.method in ("*", method):
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rules.remove(rule)
                return rule.kind, rule.retry_after
        if self._rate is not None and method in WRITE_METHODS:
            rate, kinds, retry_after, rng = self._rate
            if rng.random() < rate:
                return rng.choice(kinds), retry_after
        return None

    async def _fault_response(
        self, request: web.Request, kind: str, retry_after: int
    ) -> web.StreamResponse:
        if kind == "429":
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(retry_after)},
            )
        if kind == "timeout":
            # Interruptible so stop() never waits for a hung request.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.timeout_delay):
                    await self._stopping.wait()
            return web.Response(status=504, text="Gateway Timeout")
        if kind == "drop":
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        status = int(kind) if kind.isdigit() else 500
        return web.Response(status=status, text=f"{status} fake server error")
