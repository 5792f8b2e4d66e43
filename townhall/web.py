"""The one HTTP server: Slack's signed requests, Telegram's webhook, and a health check.

aiohttp, because both SDKs already speak it (bolt ships an aiohttp adapter) and it runs in the
bot's own event loop. Request bodies are capped: no platform sends megabytes, an attacker might.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest

from bots.slack import SlackConsole
from bots.slack.payloads import check_request
from bots.telegram import TelegramChannel
from townhall.domain import StorageUnavailable

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
# what reading a Slack body can raise: invalid UTF-8 and JSON, a payload of the wrong shape
# (MalformedRequest) are ValueErrors; bolt's parsing indexes into what it got; deep nesting
UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError)
HealthCheck = Callable[[], Awaitable[dict[str, object]]]


def build_web_app(
    *,
    health: HealthCheck,
    slack: SlackConsole | None = None,
    telegram: TelegramChannel | None = None,
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)

    async def healthz(request: web.Request) -> web.Response:
        report = await health()
        return web.json_response(report, status=200 if report.get("ok") else 503)

    app.router.add_get("/healthz", healthz)

    if slack is not None:

        async def slack_events(request: web.Request) -> web.Response:
            # Slack sends UTF-8 (and signs those bytes); a body that cannot be read, or whose
            # shape bolt or the console cannot handle, gets a 400 here instead of a crash
            # inside bolt and a 500.
            try:
                bolt_request = AsyncBoltRequest(
                    body=(await request.read()).decode("utf-8"),
                    query=request.query_string,
                    headers=request.headers,  # type: ignore[arg-type]
                )
                check_request(bolt_request.body, bolt_request.context)
            except UNREADABLE as exc:
                log.warning("slack: refused a malformed request: %.300s", exc)
                return web.json_response({"error": "malformed request"}, status=400)
            bolt_response = await slack.dispatch(bolt_request)
            return await to_aiohttp_response(bolt_response)

        app.router.add_post("/slack/events", slack_events)

    if telegram is not None:

        async def telegram_webhook(request: web.Request) -> web.Response:
            secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
            try:
                status = await telegram.process_webhook(secret, await request.read())
            except StorageUnavailable as exc:  # Telegram sends it again later
                log.warning("telegram: webhook update refused while the database is away: %s", exc)
                return web.Response(status=503)
            return web.Response(status=status)

        app.router.add_post("/telegram/webhook", telegram_webhook)

    return app


class _ClientFaults(logging.Filter):
    """aiohttp logs a request it cannot even parse (an 8 kB URL, a broken header line) as an
    ERROR with a traceback, though it answers 400 and none of our code ran: anyone could fill
    the error log, and page whoever watches it, with such requests. They are the client's
    fault, so each becomes one warning line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and 400 <= error.code < 500:
            log.warning("http: refused a malformed request: %s %s", error.code, error.message)
            return False
        return True


server_log = logging.getLogger(f"{__name__}.server")
server_log.addFilter(_ClientFaults())


class WebServer:
    """Runs a web.Application on host:port inside the current event loop."""

    def __init__(self, app: web.Application, host: str, port: int):
        self.app = app
        self.host = host
        self.port = port
        self._runner = web.AppRunner(app, access_log=None, logger=server_log)

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        if self.port == 0 and server is not None and server.sockets:
            self.port = server.sockets[0].getsockname()[1]
        log.info("http: serving on http://%s:%s", self.host, self.port)

    async def stop(self) -> None:
        await self._runner.cleanup()
