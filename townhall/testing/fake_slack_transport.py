"""How the fake Slack reaches the app: Socket Mode websockets and signed HTTP requests.

Both paths wait for the app's acknowledgement like Slack does (3 s by default) and report it as a
:class:`Delivery`, so a test can assert "acked in time" or "answered with response_action errors"
regardless of the transport the bot runs in.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

log = logging.getLogger("townhall.testing.fake_slack")

# Socket Mode envelope type -> whether Slack lets the ack carry a response payload.
ACCEPTS_RESPONSE = {"events_api": False, "interactive": True, "slash_commands": True}


@dataclass
class Delivery:
    """Outcome of one delivery to the app (an event, an interaction or a slash command)."""

    kind: str
    mode: str
    request: dict[str, Any]
    acked: bool
    status: int | None = None
    body: str = ""
    response: Any = None
    envelope_id: str | None = None
    elapsed: float = 0.0
    error: str | None = None

    @property
    def response_action(self) -> str | None:
        """``response_action`` of a view_submission ack (errors/update/push/clear), if any."""
        return self.response.get("response_action") if isinstance(self.response, dict) else None

    @property
    def errors(self) -> dict[str, str] | None:
        """Field errors from ``response_action: errors`` (block_id -> message), else None."""
        if self.response_action == "errors":
            return dict(self.response.get("errors") or {})
        return None


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 request signature headers for ``body`` (timestamp defaults to now)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    base = b"v0:" + str(ts).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def _parse(text: str, content_type: str) -> Any:
    if "json" in content_type and text:
        with contextlib.suppress(ValueError):
            return json.loads(text)
    return text or None


async def deliver_http(
    session: aiohttp.ClientSession,
    url: str,
    secret: str,
    kind: str,
    payload: dict[str, Any],
    *,
    ack_timeout: float,
) -> Delivery:
    """POST a signed request exactly as Slack does (JSON events, form interactions/commands)."""
    if kind == "events_api":
        body = json.dumps(payload, separators=(",", ":")).encode()
        content_type = "application/json"
    elif kind == "interactive":
        body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        body = urlencode(payload).encode()
        content_type = "application/x-www-form-urlencoded"
    headers = {
        "Content-Type": content_type,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        **sign(secret, body),
    }
    started = time.monotonic()
    try:
        async with session.post(
            url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=ack_timeout)
        ) as resp:
            text = await resp.text()
            return Delivery(
                kind=kind,
                mode="http",
                request=payload,
                acked=resp.status == 200,
                status=resp.status,
                body=text,
                response=_parse(text, resp.headers.get("Content-Type", "")),
                elapsed=time.monotonic() - started,
            )
    except (TimeoutError, aiohttp.ClientError) as exc:
        return Delivery(
            kind=kind,
            mode="http",
            request=payload,
            acked=False,
            elapsed=time.monotonic() - started,
            error=f"{type(exc).__name__}: {exc}",
        )


@dataclass
class SocketHub:
    """Socket Mode server side: tickets, open websockets, envelopes and their acks."""

    app_id: str
    tickets: set[str] = field(default_factory=set)
    connections: list[web.WebSocketResponse] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    connects: int = 0
    _pending: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)

    @property
    def connected(self) -> bool:
        """True while at least one app connection is open."""
        return any(not ws.closed for ws in self.connections)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The ``/link/`` endpoint: validate the one-time ticket, say hello, read acks."""
        ticket = request.query.get("ticket", "")
        if ticket not in self.tickets:
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        self.tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections.append(ws)
        self.connects += 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": sum(1 for c in self.connections if not c.closed),
                "debug_info": {
                    "host": "applink-fake-1",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self.app_id},
            }
        )
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self._on_text(msg.data)
        finally:
            with contextlib.suppress(ValueError):
                self.connections.remove(ws)
        return ws

    def _on_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            log.debug("ignoring non-JSON socket message %r", data[:200])
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        if not envelope_id:
            return
        self.acks.append(message)
        future = self._pending.pop(envelope_id, None)
        if future is not None and not future.done():
            future.set_result(message)

    async def deliver(self, kind: str, payload: dict[str, Any], *, ack_timeout: float) -> Delivery:
        """Send one envelope on the newest open connection and wait for its ack."""
        open_ws = [ws for ws in self.connections if not ws.closed]
        if not open_ws:
            raise RuntimeError("no Socket Mode connection is open")
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "type": kind,
            "payload": payload,
            "accepts_response_payload": ACCEPTS_RESPONSE[kind],
        }
        if kind == "events_api":
            envelope.update({"retry_attempt": 0, "retry_reason": ""})
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[envelope["envelope_id"]] = future
        started = time.monotonic()
        try:
            await open_ws[-1].send_json(envelope)
            async with asyncio.timeout(ack_timeout):  # not wait_for: see listening/outbox.py
                ack = await future
        except (TimeoutError, ConnectionError) as exc:
            return Delivery(
                kind=kind,
                mode="socket",
                request=payload,
                acked=False,
                envelope_id=envelope["envelope_id"],
                elapsed=time.monotonic() - started,
                error=f"{type(exc).__name__}: no ack within {ack_timeout}s",
            )
        finally:
            self._pending.pop(envelope["envelope_id"], None)
        response = ack.get("payload")
        return Delivery(
            kind=kind,
            mode="socket",
            request=payload,
            acked=True,
            body=json.dumps(response) if response is not None else "",
            response=response,
            envelope_id=envelope["envelope_id"],
            elapsed=time.monotonic() - started,
        )

    async def send_disconnect(self, reason: str) -> None:
        """Ask every connected client to reconnect (Slack does this on refreshes)."""
        for ws in [c for c in self.connections if not c.closed]:
            await ws.send_json(
                {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake-1"}}
            )

    async def close_all(self) -> None:
        """Close every websocket (server shutdown) and fail pending deliveries."""
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("fake Slack stopped"))
        for ws in list(self.connections):
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY)
        self.connections.clear()
