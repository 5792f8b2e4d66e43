"""A faithful local fake of the Telegram Bot API: a real aiohttp server on 127.0.0.1.

Why: Townhall talks to Telegram through the *unmodified* python-telegram-bot SDK, in tests and
in ``townhall demo``. Pointing the SDK's ``base_url`` here exercises the real wire protocol
(form-encoded calls, long polling, webhooks with secret tokens, 4xx/429 errors) without the
internet. The fake simulates citizens (see :mod:`fake_telegram_users`), records what the bot sent,
and injects faults (429 with ``retry_after``, 5xx, hung requests, dropped connections) for retry
and chaos tests. A failed call never has side effects, exactly like the real API.

Usage::

    async with FakeTelegram() as fake:
        app = ApplicationBuilder().token(fake.token).base_url(fake.base_url)...
        fake.user_sends("/start")
        [reply] = await fake.wait_for_sent(chat_id=1001)
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from townhall.testing.fake_telegram_api import canonical_method
from townhall.testing.fake_telegram_delivery import UpdateDelivery
from townhall.testing.fake_telegram_objects import JSON, ApiError, coerce_params
from townhall.testing.serving import serve
from townhall.testing.telegram_spec import Spec

DEFAULT_TOKEN = "123456:TEST-TOKEN"
SENDING_METHODS = frozenset({
    "sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPoll", "stopPoll",
    "answerCallbackQuery", "sendChatAction", "deleteMessage",
})  # fmt: skip
_DESCRIPTIONS = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden: bot was blocked by the user",
    404: "Not Found", 409: "Conflict", 500: "Internal Server Error", 502: "Bad Gateway",
}  # fmt: skip


@dataclass
class _Fault:
    kind: str  # "status" | "timeout" | "drop"
    status: int = 0
    retry_after: int | None = None
    description: str | None = None
    hold_seconds: float = 1.0


@dataclass
class _RandomFaults:
    rate: float
    faults: list[_Fault]
    rng: random.Random
    methods: frozenset[str]


def _error(err: ApiError) -> web.Response:
    headers = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else None
    return web.json_response(err.payload(), status=err.code, headers=headers)


async def _read_params(request: web.Request) -> JSON:
    """Query string + JSON, form-urlencoded or multipart body; JSON-encoded values decoded."""
    raw: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON object") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: JSON object expected")
            raw.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    value = {"filename": value.filename, "content": value.file.read()}
                raw[key] = value
    return coerce_params(raw)


class FakeTelegram(UpdateDelivery):
    """The fake Bot API server. See the module docstring; public helpers are documented below."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "townhall_test_bot",
        *,
        bot_first_name: str = "Townhall",
        spec: Spec | None = None,
        webhook_attempts: int = 4,
        webhook_backoff: float = 0.05,
        webhook_timeout: float = 10.0,
    ) -> None:
        """``spec`` (from :func:`telegram_spec.load_spec`) checks every result and Update the
        fake produces; problems land in ``spec_violations`` instead of failing the bot."""
        super().__init__(token, bot_username, bot_first_name)
        self.webhook_attempts = webhook_attempts
        self.webhook_backoff = webhook_backoff
        self.webhook_timeout = webhook_timeout
        self.failures: list[tuple[str, JSON, str]] = []
        self.faults_injected: list[tuple[str, str]] = []
        self._spec = spec
        self._scheduled: list[tuple[str, _Fault, list[int]]] = []
        self._random: _RandomFaults | None = None
        self._runner: web.AppRunner | None = None
        self._worker: asyncio.Task[None] | None = None
        self._host = "127.0.0.1"
        self._port: int | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeTelegram:
        """Listen on ``host:port`` (0 picks a free port)."""
        if self._runner is not None:
            raise RuntimeError("FakeTelegram is already running")
        app = web.Application(client_max_size=50 * 2**20)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        self._runner, self._port = await serve(app, host, port)
        self._host = f"[{host}]" if ":" in host else host
        self._closing = False
        self._session = aiohttp.ClientSession()
        self._webhook_queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._webhook_worker(), name="fake-telegram-webhook")
        return self

    async def stop(self) -> None:
        """Wake long polls and held requests, stop webhook delivery, close the server."""
        if self._runner is None:
            return
        self._closing = True
        self._changed()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        waiting = [self._inflight] if self._inflight else []
        while self._webhook_queue is not None and not self._webhook_queue.empty():
            waiting.append(self._webhook_queue.get_nowait())
        for item in waiting:
            if item.done is not None and not item.done.done():
                item.done.cancel()
        await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
        self._runner = self._session = self._worker = self._webhook_queue = None
        self._inflight = None

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``; PTB appends the token."""
        return f"http://{self._host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self._host}:{self.port}/file/bot"

    @property
    def pending_update_count(self) -> int:
        return self._pending_count()

    # -- HTTP ----------------------------------------------------------------------------------
    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        try:
            params = await _read_params(request)
        except ApiError as err:
            return _error(err)
        except web.HTTPException as exc:  # e.g. 413 for an oversized upload
            return _error(ApiError(exc.status, exc.reason))
        except Exception as exc:  # malformed multipart and the like
            return _error(ApiError(400, f"Bad Request: can't parse request: {exc}"))
        name = canonical_method(request.match_info["method"])
        self.calls.append((name or request.match_info["method"], params))
        self._changed()
        if name is None:
            return _error(ApiError(404, "Not Found"))
        fault = self._take_fault(name)
        if fault is not None:
            return await self._inject(request, name, fault)
        try:
            result = await self.call_method(name, params)
        except ApiError as err:
            self.failures.append((name, params, err.description))
            return _error(err)
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        if request.match_info["token"] == self.token:
            for file_path, content in self.files.values():
                if file_path == path:
                    return web.Response(body=content, content_type="application/octet-stream")
        return _error(ApiError(404, "Not Found"))

    # -- fault injection -----------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        *,
        status: int | str = 429,
        retry_after: int = 1,
        count: int = 1,
        description: str | None = None,
        hold_seconds: float = 1.0,
    ) -> None:
        """Make the next ``count`` calls of ``method`` ("*" = any) fail without side effects.

        ``status`` is an HTTP error code (429 adds ``parameters.retry_after`` and a
        ``Retry-After`` header), ``"timeout"`` (hold ``hold_seconds`` then drop) or ``"drop"``
        (close the connection without an answer).
        """
        name = method if method == "*" else canonical_method(method)
        if name is None:
            raise ValueError(f"{method!r} is not a Bot API method this fake implements")
        fault = self._make_fault(status, retry_after, description, hold_seconds)
        self._scheduled.append((name, fault, [count]))

    def fault_rate(
        self,
        rate: float,
        *,
        kinds: Iterable[str] = ("429", "500", "timeout", "drop"),
        retry_after: int = 1,
        seed: int = 0,
        methods: Iterable[str] | None = None,
        hold_seconds: float = 1.0,
    ) -> None:
        """Fail a random ``rate`` share of sending calls (deterministic for a given ``seed``)."""
        if not 0 <= rate <= 1:
            raise ValueError("rate must be within [0, 1]")
        faults = [self._make_fault(k, retry_after, None, hold_seconds) for k in kinds]
        chosen = frozenset(canonical_method(m) or m for m in (methods or SENDING_METHODS))
        self._random = _RandomFaults(rate, faults, random.Random(seed), chosen) if rate else None

    def clear_faults(self) -> None:
        self._scheduled.clear()
        self._random = None

    @staticmethod
    def _make_fault(
        kind: int | str, retry_after: int, description: str | None, hold_seconds: float
    ) -> _Fault:
        if kind in ("timeout", "drop"):
            return _Fault(str(kind), hold_seconds=hold_seconds)
        status = int(kind)
        if not 400 <= status <= 599:
            raise ValueError(f"fault status must be 4xx/5xx, 'timeout' or 'drop', not {kind!r}")
        delay = retry_after if status == 429 else None
        return _Fault("status", status, delay, description, hold_seconds)

    def _take_fault(self, method: str) -> _Fault | None:
        for entry in self._scheduled:
            name, fault, remaining = entry
            if name in (method, "*"):
                remaining[0] -= 1
                if remaining[0] <= 0:
                    self._scheduled.remove(entry)
                return fault
        chaos = self._random
        if chaos and method in chaos.methods and chaos.rng.random() < chaos.rate:
            return chaos.rng.choice(chaos.faults)
        return None

    async def _inject(self, request: web.Request, method: str, fault: _Fault) -> web.Response:
        self.faults_injected.append((method, str(fault.status or fault.kind)))
        self._changed()
        if fault.kind == "status":
            default = _DESCRIPTIONS.get(fault.status, f"Error {fault.status}")
            if fault.status == 429:
                default = f"Too Many Requests: retry after {fault.retry_after}"
            err = ApiError(
                fault.status, fault.description or default, retry_after=fault.retry_after
            )
            return _error(err)
        if fault.kind == "timeout":
            await self._wait_until(lambda: None, fault.hold_seconds)  # returns early on stop()
        if request.transport is not None:
            request.transport.close()  # aiohttp then skips writing the response
        return web.Response(status=500)

    # -- observation ---------------------------------------------------------------------------
    async def wait_for_sent(
        self,
        predicate: Callable[[JSON], bool] | None = None,
        *,
        chat_id: int | None = None,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[JSON]:
        """Wait until ``count`` sent/edited messages match; return all matching records."""

        def matching() -> list[JSON] | None:
            found = [
                s for s in self.sent
                if (chat_id is None or s.get("chat_id") == chat_id)
                and (predicate is None or predicate(s))
            ]  # fmt: skip
            return found if len(found) >= count else None

        found = await self._wait_until(matching, timeout)
        if found is None:
            raise TimeoutError(self._describe_wait(f"{count} sent message(s)", chat_id, timeout))
        return found

    async def wait_for_call(
        self,
        method: str,
        *,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[JSON]:
        """Wait until ``method`` was called ``count`` times (successful or not); return params."""
        name = canonical_method(method) or method

        def matching() -> list[JSON] | None:
            found = [params for m, params in self.calls if m == name]
            return found if len(found) >= count else None

        found = await self._wait_until(matching, timeout)
        if found is None:
            raise TimeoutError(self._describe_wait(f"{count} {name} call(s)", None, timeout))
        return found

    async def wait_webhook_idle(self, timeout: float = 5.0) -> None:
        """Wait until every queued Update was delivered to the webhook (or given up)."""

        def idle_now() -> bool | None:
            queue = self._webhook_queue
            return True if not self._inflight and (queue is None or queue.empty()) else None

        idle = await self._wait_until(idle_now, timeout)
        if idle is None:
            raise TimeoutError(f"webhook delivery still busy after {timeout}s")

    def _describe_wait(self, what: str, chat_id: int | None, timeout: float) -> str:
        lines = [f"expected {what}" + (f" in chat {chat_id}" if chat_id is not None else "")]
        lines[0] += f" within {timeout}s; sent so far ({len(self.sent)}):"
        for s in self.sent[-20:]:
            text = s.get("text") if s.get("text") is not None else s.get("poll", {}).get("question")
            lines.append(
                f"  {s['method']} chat={s.get('chat_id')} id={s.get('message_id')} {text!r:.100}"
            )
        lines.append(f"calls: {[m for m, _ in self.calls[-30:]]}")
        lines.extend(f"failed: {m} -> {desc}" for m, _, desc in self.failures[-10:])
        lines.extend(f"fake error: {exc!r}" for exc in self.errors[-5:])
        return "\n".join(lines)
