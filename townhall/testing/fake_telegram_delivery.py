"""Update delivery of the fake Telegram server: getUpdates long polling and webhook POSTs.

Why: the two delivery modes have subtle, bot-visible semantics that the fake must reproduce:
updates stay queued until a later ``getUpdates`` confirms them with ``offset``; a long poll is held
until an update arrives or ``timeout`` passes; a newer ``getUpdates`` terminates an older one with
409; ``getUpdates`` answers 409 while a webhook is set; webhooks are POSTed in order with
``X-Telegram-Bot-Api-Secret-Token`` and retried with backoff on non-2xx or connection errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp

from townhall.testing.fake_telegram_api import BotApiMethods
from townhall.testing.fake_telegram_objects import JSON, ApiError, Params, coerce_params, now
from townhall.testing.fake_telegram_users import CitizenActions
from townhall.testing.telegram_spec import spec_errors

WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
_NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
T = TypeVar("T")


@dataclass
class _Queued:
    update: Any
    one_shot: bool = False  # delivered once regardless of getUpdates offsets
    done: asyncio.Future[int | None] | None = field(default=None, repr=False)


def _update_id(update: Any) -> int | None:
    uid = update.get("update_id") if isinstance(update, dict) else None
    return uid if isinstance(uid, int) and not isinstance(uid, bool) else None


def _allowed(update: Any, allowed: list[str] | None) -> bool:
    if not isinstance(update, dict):
        return True
    kind = next((k for k in update if k != "update_id"), None)
    return kind in allowed if allowed else kind not in _NOT_BY_DEFAULT


class UpdateDelivery(BotApiMethods, CitizenActions):
    """Queues Updates for getUpdates or POSTs them to the webhook set by the bot."""

    def __init__(self, token: str, bot_username: str, bot_first_name: str) -> None:
        super().__init__(token, bot_username, bot_first_name)
        self.webhook_attempts = 4
        self.webhook_backoff = 0.05
        self.webhook_timeout = 10.0
        self.webhook_responses: list[int] = []
        self._pending: list[_Queued] = []
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._webhook_queue: asyncio.Queue[_Queued] | None = None
        self._inflight: _Queued | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closing = False

    def _enqueue(
        self,
        update: Any,
        *,
        one_shot: bool = False,
        raw: bool = False,
        done: asyncio.Future[int | None] | None = None,
    ) -> None:
        if self._spec is not None and not raw:
            errors = spec_errors("Update", update, self._spec)
            self.spec_violations.extend(errors)
        item = _Queued(update, one_shot, done)
        self._observe("update", update)
        if self._webhook is not None and self._webhook_queue is not None:
            self._webhook_queue.put_nowait(item)
        else:
            self._pending.append(item)
            if done is not None and not done.done():
                done.set_result(None)
        self._changed()

    async def deliver_raw(self, update: JSON | str | bytes) -> int | None:
        """Inject any update, even malformed (str/bytes are sent verbatim to a webhook).

        With a webhook, waits for delivery and returns the final HTTP status (None if the
        connection failed); with polling, queues it (delivered once) and returns None.
        """
        if self._webhook is None and isinstance(update, str | bytes):
            update = json.loads(update)  # getUpdates can only carry JSON
        self.updates.append(update if isinstance(update, dict) else {"raw": update})
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._enqueue(update, one_shot=True, raw=True, done=future)
        return await future

    def redeliver(self, update: JSON) -> JSON:
        """Send an Update again with the same update_id (Telegram does after failed delivery)."""
        again = copy.deepcopy(update)
        self.updates.append(again)
        self._enqueue(again, one_shot=True, raw=True)
        return copy.deepcopy(again)

    def _pending_count(self) -> int:
        queued = self._webhook_queue.qsize() if self._webhook_queue is not None else 0
        return len(self._pending) + queued + (1 if self._inflight else 0)

    def _webhook_changed(self, drop_pending: bool) -> None:
        if drop_pending:
            self._pending.clear()
            while self._webhook_queue is not None and not self._webhook_queue.empty():
                item = self._webhook_queue.get_nowait()
                if item.done is not None and not item.done.done():
                    item.done.set_result(None)
        if self._webhook is not None and self._webhook_queue is not None:
            moved, self._pending = self._pending, []
            for item in moved:
                self._webhook_queue.put_nowait(item)
        self._changed()

    async def _get_updates(self, p: Params) -> list[JSON]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = p.get_int("offset")
        limit = min(max(p.get_int("limit") or 100, 1), 100)
        timeout = max(float(p.get_int("timeout") or 0), 0.0)
        allowed = p.get_list("allowed_updates")
        if allowed is not None:
            self._allowed_updates = allowed or None
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._changed()  # an older pending getUpdates now answers 409, like Telegram

        def batch() -> list[JSON] | None:
            if generation != self._poll_generation:
                raise ApiError(409, POLL_CONFLICT)
            return self._take_batch(limit) or None

        return await self._wait_until(batch, timeout) or []

    def _confirm(self, offset: int | None) -> None:
        """Forget updates below ``offset`` (negative: keep only the last -offset)."""
        if not offset:
            return
        normal = [q for q in self._pending if not q.one_shot]
        if offset > 0:
            dropped = {id(q) for q in normal if (_update_id(q.update) or 0) < offset}
        else:
            dropped = {id(q) for q in normal[: max(len(normal) + offset, 0)]}
        self._pending = [q for q in self._pending if id(q) not in dropped]

    def _take_batch(self, limit: int) -> list[JSON]:
        self._pending = [q for q in self._pending if _allowed(q.update, self._allowed_updates)]
        ordered = sorted(self._pending, key=lambda q: _update_id(q.update) or -1)
        batch = ordered[:limit]
        taken = {id(q) for q in batch if q.one_shot}
        self._pending = [q for q in self._pending if id(q) not in taken]
        return [copy.deepcopy(q.update) for q in batch]

    async def _webhook_worker(self) -> None:
        """Deliver queued updates to the webhook one at a time, in order, with retries."""
        assert self._webhook_queue is not None
        while True:
            item = await self._webhook_queue.get()
            self._inflight = item
            status = None
            try:
                status = await self._post_update(item)
            except Exception as exc:  # keep delivering later updates; surface the bug
                self.errors.append(exc)
            finally:
                self._inflight = None
                self._changed()
            if item.done is not None and not item.done.done():
                item.done.set_result(status)

    async def _post_update(self, item: _Queued) -> int | None:
        status: int | None = None
        for attempt in range(max(self.webhook_attempts, 1)):
            hook = self._webhook
            if hook is None:  # webhook deleted meanwhile: getUpdates will get it
                self._pending.append(item)
                return None
            if not _allowed(item.update, hook["allowed_updates"]):
                return None
            body = item.update if isinstance(item.update, str | bytes) else json.dumps(item.update)
            headers = {"Content-Type": "application/json"}
            if hook["secret_token"]:
                headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
            assert self._session is not None
            try:
                timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
                async with self._session.post(
                    hook["url"], data=body, headers=headers, timeout=timeout
                ) as resp:
                    status, reply = resp.status, await resp.read()
                    error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, error = None, f"Connection failed: {type(exc).__name__}"
            else:
                self.webhook_responses.append(status)
                if 200 <= status < 300:
                    await self._webhook_reply(reply)
                    return status
            hook.update(last_error_date=now(), last_error_message=error)
            self._changed()
            if attempt + 1 < self.webhook_attempts:
                await asyncio.sleep(self.webhook_backoff * 2**attempt)
        return status

    async def _webhook_reply(self, reply: bytes) -> None:
        """Telegram executes a method call returned in the webhook response body."""
        try:
            call = json.loads(reply) if reply.strip() else None
        except ValueError:
            return
        if isinstance(call, dict) and isinstance(call.get("method"), str):
            params = coerce_params({k: v for k, v in call.items() if k != "method"})
            self.calls.append((call["method"], params))
            with contextlib.suppress(ApiError):
                await self.call_method(call["method"], params)

    async def _wait_changed(self, seconds: float) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)  # registered before awaiting: no change can slip through
        try:
            await asyncio.wait({waiter}, timeout=seconds)
        finally:
            self._waiters.discard(waiter)
            waiter.cancel()

    async def _wait_until(self, check: Callable[[], T | None], seconds: float) -> T | None:
        """Re-evaluate ``check`` on every state change until it returns non-None or time is up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            result = check()
            remaining = deadline - loop.time()
            if result is not None or remaining <= 0 or self._closing:
                return result
            await self._wait_changed(remaining)
