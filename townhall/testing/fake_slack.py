"""A faithful local fake of Slack for tests and ``townhall demo``.

A real aiohttp server on 127.0.0.1 that the unmodified slack_sdk ``AsyncWebClient`` and slack_bolt
``AsyncApp`` talk to: the Web API at ``/api/{method}``, Socket Mode at ``/link/``, file upload URLs
and response_urls, plus signed outgoing requests to the app's Request URL. Human-side helpers
(``click``, ``submit_view``, ``post_message``, ``slash_command``) play the staff; observation
helpers (``messages``, ``views``, ``calls``, ``wait_for``) let tests assert what the bot did; fault
injection (``fail_next``, ``fault_rate``) proves the bot survives rate limits and outages.

Delivery mode: ``fake.mode`` is ``"auto"`` (default: Socket Mode when an app connection is open,
else the URL set with ``deliver_to``), ``"socket"`` or ``"http"``.

Usage::

    async with FakeSlack() as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import Iterable
from typing import Any, Literal

import aiohttp
from aiohttp import web

from townhall.testing.fake_slack_api import ApiError, WebApi, decode_json_params
from townhall.testing.fake_slack_faults import FaultInjection
from townhall.testing.fake_slack_human import HumanActions
from townhall.testing.fake_slack_observe import ApiCall, Observation
from townhall.testing.fake_slack_state import TRIAGE_CHANNEL, Channel, Identity, User, Workspace
from townhall.testing.fake_slack_transport import Delivery, SocketHub, deliver_http, sign

log = logging.getLogger("townhall.testing.fake_slack")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class FakeSlack(HumanActions, FaultInjection, Observation):
    """One fake workspace with the app installed; see the module docstring."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        app_token: str = "xapp-test-token",
        signing_secret: str = "test-signing-secret",
        team_id: str = "T0TOWNHAL1",
        bot_user_id: str = "U0TOWNBOT1",
        bot_id: str = "B0TOWNBOT1",
        app_id: str = "A0TOWNHAL1",
        seed: int = 0,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.signing_secret = signing_secret
        self.identity = Identity(
            team_id=team_id,
            team_name="Townhall Test",
            team_domain="townhall-test",
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            app_id=app_id,
            bot_name="townhall",
            verification_token="fake-verification-token",
        )
        self.ws = Workspace(self.identity, seed=seed)
        self.hub = SocketHub(app_id=app_id)
        self.api = WebApi(
            self.ws, base_url=lambda: self.base_url, issue_socket_url=self._issue_socket_url
        )
        self.mode: Literal["auto", "socket", "http"] = "auto"
        self.ack_timeout = 3.0
        self.timeout_delay = 35.0
        self.event_subscriptions: set[str] = {"message", "app_mention"}
        self._init_faults()
        self._calls: list[ApiCall] = []
        self._deliveries: list[Delivery] = []
        self._request_url: str | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._stopping = asyncio.Event()
        self._host, self._port = "127.0.0.1", 0
        self.ws.users[bot_user_id] = User(
            id=bot_user_id, name="townhall", real_name="Townhall", is_bot=True
        )
        self.add_channel(TRIAGE_CHANNEL, "townhall-triage")

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on loopback (port 0 picks a free port); idempotent only via ``stop`` first."""
        if host not in LOOPBACK:
            raise ValueError("the fake Slack only listens on loopback")
        if self._runner is not None:
            raise RuntimeError("already started")
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{token}", self._handle_upload)
        app.router.add_post("/actions/{key:.+}", self._handle_response_url)
        app.router.add_get("/link/", self.hub.handle)
        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self._host, self._port = host, int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession()
        log.debug("fake Slack listening on %s", self.base_url)

    async def stop(self) -> None:
        """Close app connections and the server; pending fault delays end immediately."""
        self._stopping.set()
        await self.hub.close_all()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port (0 before start)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:{port}/`` (root of every fake endpoint)."""
        return f"http://{self._host}:{self._port}/"

    @property
    def api_url(self) -> str:
        """Web API base for ``AsyncWebClient(base_url=...)`` (trailing slash required)."""
        return f"{self.base_url}api/"

    # -- workspace setup -----------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        is_bot: bool = False,
        is_admin: bool = False,
        real_name: str | None = None,
    ) -> None:
        """Add a workspace member (IDs like ``U0STAFF001``: >= 9 chars, uppercase)."""
        self.ws.users[user_id] = User(
            id=user_id,
            name=name,
            is_bot=is_bot,
            is_admin=is_admin,
            real_name=real_name or name.replace(".", " ").title(),
        )

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        members: Iterable[str] | None = None,
        bot_is_member: bool = True,
    ) -> None:
        """Add a channel; ``members=None`` means everyone in the workspace."""
        self.ws.channels[channel_id] = Channel(
            id=channel_id,
            name=name,
            is_private=is_private,
            bot_is_member=bot_is_member,
            members=None if members is None else set(members),
        )

    def add_usergroup(self, group_id: str, handle: str, user_ids: Iterable[str]) -> None:
        """Add a user group (``S...``) such as the staff group the bot resolves."""
        self.ws.usergroups[group_id] = {
            "id": group_id,
            "team_id": self.identity.team_id,
            "is_usergroup": True,
            "name": handle.replace("-", " ").title(),
            "description": "",
            "handle": handle,
            "is_external": False,
            "date_create": 1700000000,
            "date_update": 1700000000,
            "date_delete": 0,
            "auto_type": None,
            "created_by": self.identity.bot_user_id,
            "updated_by": self.identity.bot_user_id,
            "deleted_by": None,
            "prefs": {"channels": [], "groups": []},
            "users": list(user_ids),
        }

    # -- delivery to the app -------------------------------------------------------------------

    def deliver_to(self, url: str | None) -> None:
        """Set (or clear) the app's Request URL for HTTP-mode deliveries."""
        self._request_url = url

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Slack signature headers for ``body`` (craft stale/bad ones in tests)."""
        return sign(self.signing_secret, body, timestamp)

    @property
    def socket_connected(self) -> bool:
        """True while a Socket Mode client is connected."""
        return self.hub.connected

    async def disconnect_socket(self, reason: str = "refresh_requested") -> None:
        """Send Socket Mode ``disconnect`` so clients reconnect (via apps.connections.open)."""
        await self.hub.send_disconnect(reason)

    async def deliver(self, kind: str, payload: dict[str, Any]) -> Delivery:
        """Send a payload to the app by the current mode and wait up to ``ack_timeout``."""
        use_socket = self.mode == "socket" or (self.mode == "auto" and self.hub.connected)
        if use_socket:
            delivery = await self.hub.deliver(kind, payload, ack_timeout=self.ack_timeout)
        else:
            if self._request_url is None or self._session is None:
                raise RuntimeError(
                    "nowhere to deliver: start the fake and call deliver_to(url) "
                    "or connect a Socket Mode client"
                )
            delivery = await deliver_http(
                self._session,
                self._request_url,
                self.signing_secret,
                kind,
                payload,
                ack_timeout=self.ack_timeout,
            )
        self._deliveries.append(delivery)
        return delivery

    def _issue_socket_url(self) -> str:
        ticket = self.ws.ids.token(16)
        self.hub.tickets.add(ticket)
        host = "127.0.0.1" if self._host == "localhost" else self._host
        return f"ws://{host}:{self._port}/link/?ticket={ticket}&app_id={self.identity.app_id}"

    # -- HTTP handlers -------------------------------------------------------------------------

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], str | None]:
        params: dict[str, Any] = dict(request.query)
        warning = None
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                if request.charset is None:
                    warning = "missing_charset"
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise ApiError("invalid_json") from exc
                if isinstance(body, dict):
                    params.update(body)
            else:
                form = await request.post()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params, warning

    def _check_auth(self, method: str, request: web.Request, params: dict[str, Any]) -> None:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.startswith("Bearer ") else params.get("token")
        if not token:
            raise ApiError("not_authed")
        wanted = self.app_token if method == "apps.connections.open" else self.bot_token
        if token == wanted:
            return
        if token in (self.app_token, self.bot_token):
            raise ApiError("not_allowed_token_type")
        raise ApiError("invalid_auth")

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        headers = {"X-Slack-Req-Id": self.ws.ids.token(16)}
        try:
            params, warning = await self._read_params(request)
        except ApiError as err:
            return web.json_response(err.body(), headers=headers)
        public = {k: v for k, v in params.items() if k != "token"}
        handler = self.api.methods.get(method)
        if handler is None:
            body = {"ok": False, "error": "unknown_method", "req_method": method}
            self._calls.append(ApiCall(method, public, body))
            return web.json_response(body, headers=headers)
        fault = self._pick_fault(method)
        if fault is not None:
            self.faults.append((method, fault[0]))
            self._calls.append(ApiCall(method, public, None, fault=fault[0]))
            log.debug("injecting %s into %s", fault[0], method)
            return await self._fault_response(request, *fault)
        try:
            if method != "api.test":  # the one method Slack answers without a token
                self._check_auth(method, request, params)
            decode_json_params(params)
            body = handler(params)
        except ApiError as err:
            body = err.body()
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            # Arguments of the wrong shape (e.g. limit="ten", blocks as an object): Slack answers
            # invalid_arguments rather than a 500, and so do we (logged, since it may be our bug).
            log.warning("%s rejected malformed arguments: %r", method, exc)
            body = {"ok": False, "error": "invalid_arguments"}
        if warning and body.get("ok"):
            body["warning"] = warning
            body.setdefault("response_metadata", {}).setdefault("warnings", []).append(warning)
        self._calls.append(ApiCall(method, copy.deepcopy(public), copy.deepcopy(body)))
        return web.json_response(body, headers=headers)

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        upload = next((u for u in self.ws.uploads.values() if u.upload_token == token), None)
        if upload is None or upload.completed:
            return web.Response(status=404, text="not found")
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            part = next(iter(form.values()), b"")
            data = part.file.read() if hasattr(part, "file") else str(part).encode()
        else:
            data = await request.read()
        upload.content = data
        return web.Response(text=f"OK - {len(data)}")

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        target = self.ws.response_urls.get(request.match_info["key"])
        if target is None or target.uses >= 5:
            return web.Response(status=404, text="used_url" if target else "no_service")
        try:
            body = json.loads(await request.text())
            decode_json_params(body)
            self.apply_response(target, body)
        except ValueError:
            return web.json_response({"ok": False, "error": "invalid_payload"}, status=400)
        except ApiError as err:
            return web.json_response(err.body(), status=400)
        target.uses += 1
        return web.json_response({"ok": True})


__all__ = ["TRIAGE_CHANNEL", "ApiCall", "Delivery", "FakeSlack"]
