"""Observation API of the fake Slack: what the bot posted, opened and called, and ``wait_for``.

Everything returned is a deep copy, so a test can inspect or mutate results without corrupting the
workspace the bot keeps talking to.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from townhall.testing.fake_slack_state import TRIAGE_CHANNEL, Workspace
from townhall.testing.fake_slack_transport import Delivery, SocketHub


@dataclass(frozen=True)
class ApiCall:
    """One request to ``/api/{method}`` (token removed); ``fault`` names an injected failure."""

    method: str
    params: dict[str, Any]
    response: dict[str, Any] | None
    fault: str | None = None

    @property
    def ok(self) -> bool:
        """True when the call succeeded (no fault and ``ok: true``)."""
        return self.fault is None and bool(self.response and self.response.get("ok"))


class Observation:
    """Mixin for :class:`FakeSlack`: read-only views of the workspace and traffic."""

    ws: Workspace
    hub: SocketHub
    _calls: list[ApiCall]
    _deliveries: list[Delivery]

    def messages(self, channel: str = TRIAGE_CHANNEL) -> list[dict[str, Any]]:
        """Every stored message (top level and replies, oldest first) with ``history``."""
        chan = self.ws.resolve_channel(channel)
        return [] if chan is None else [m.snapshot() for m in chan.messages]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """One stored message (with ``channel`` and edit ``history``), or None."""
        record = self.ws.find(channel, ts)
        return None if record is None else record.snapshot()

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """A thread: the parent followed by its replies (empty if unknown)."""
        parent = self.ws.find(channel, ts)
        if parent is None:
            return []
        return [parent.snapshot(), *(r.snapshot() for r in self.ws.replies(parent))]

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        """Ephemeral messages shown so far (``channel``, recipient ``user``, ``message_ts``...)."""
        return copy.deepcopy(self.ws.ephemerals)

    @property
    def views(self) -> list[dict[str, Any]]:
        """Opened views in order: view objects plus ``user_id``, ``is_open``, ``submissions``."""
        return [
            {
                **copy.deepcopy(r.view),
                "user_id": r.user_id,
                "is_open": r.is_open,
                "submissions": copy.deepcopy(r.submissions),
            }
            for r in (self.ws.views[v] for v in self.ws.view_order)
        ]

    @property
    def calls(self) -> list[ApiCall]:
        """Every Web API request received, including injected failures."""
        return list(self._calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        """Requests to one method, in order."""
        return [c for c in self._calls if c.method == method]

    @property
    def uploads(self) -> list[dict[str, Any]]:
        """Files started with files.getUploadURLExternal (``content`` holds uploaded bytes)."""
        return [u.snapshot() for u in self.ws.uploads.values()]

    @property
    def deliveries(self) -> list[Delivery]:
        """Everything delivered to the app so far, with its ack outcome."""
        return list(self._deliveries)

    @property
    def acks(self) -> list[dict[str, Any]]:
        """Raw Socket Mode acks received (``envelope_id`` and optional ``payload``)."""
        return list(self.hub.acks)

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,
        *,
        interval: float = 0.01,
        description: str | None = None,
    ) -> Any:
        """Poll ``predicate`` (sync or async) until it returns something truthy; return it.

        LookupError/AssertionError inside the predicate count as "not yet". On timeout raises
        TimeoutError describing the last value and the latest API calls and deliveries, which is
        usually enough to see why the bot did not do what the test expected.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        name = description or getattr(predicate, "__qualname__", repr(predicate))
        value: Any = None
        last_exc: BaseException | None = None
        while True:
            try:
                value = predicate()
                if inspect.isawaitable(value):
                    value = await value
                last_exc = None
            except (LookupError, AssertionError) as exc:
                value, last_exc = None, exc
            if value:
                return value
            if loop.time() >= deadline:
                raise TimeoutError(self._describe(name, timeout, value, last_exc))
            await asyncio.sleep(interval)

    def _describe(self, name: str, timeout: float, value: Any, exc: BaseException | None) -> str:
        def outcome(call: ApiCall) -> str:
            if call.fault:
                return f"fault:{call.fault}"
            return str((call.response or {}).get("error", "ok"))

        calls = ", ".join(f"{c.method}={outcome(c)}" for c in self._calls[-8:]) or "none"
        deliveries = (
            ", ".join(
                f"{d.kind}/{d.mode} acked={d.acked} status={d.status} {d.error or ''}".strip()
                for d in self._deliveries[-4:]
            )
            or "none"
        )
        last = f"raised {exc!r}" if exc is not None else f"returned {value!r}"
        return (
            f"wait_for({name}) not satisfied after {timeout}s: last {last}; "
            f"recent API calls: {calls}; recent deliveries: {deliveries}"
        )
