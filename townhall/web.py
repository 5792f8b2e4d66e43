"""The one HTTP server: Slack's signed requests, Telegram's webhook, and a health check.

aiohttp, because both SDKs already speak it (bolt ships an aiohttp adapter) and it runs in the
bot's own event loop. Request bodies are capped: no platform sends megabytes, an attacker might.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bots.slack import SlackConsole
from bots.telegram import TelegramChannel

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
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
            bolt_response = await slack.dispatch(await to_bolt_request(request))
            return await to_aiohttp_response(bolt_response)

        app.router.add_post("/slack/events", slack_events)

    if telegram is not None:

        async def telegram_webhook(request: web.Request) -> web.Response:
            secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
            status = await telegram.process_webhook(secret, await request.read())
            return web.Response(status=status)

        app.router.add_post("/telegram/webhook", telegram_webhook)

    return app


class WebServer:
    """Runs a web.Application on host:port inside the current event loop."""

    def __init__(self, app: web.Application, host: str, port: int):
        self.app = app
        self.host = host
        self.port = port
        self._runner = web.AppRunner(app, access_log=None)

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
