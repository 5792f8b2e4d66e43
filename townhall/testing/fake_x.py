"""A faithful local fake of the X API v2: a real aiohttp server on 127.0.0.1.

Why: Townhall talks to X through the unmodified tweepy `AsyncClient`; pointing it here exercises
the real wire protocol without the internet or a paid X account: OAuth 1.0a signatures checked
with the consumer and token secrets (a bad one is a 401), bearer tokens on app-only endpoints,
`x-rate-limit-*` headers on every answer with a per-endpoint budget (429 when spent), access
tiers (an endpoint outside the tier answers 403 `client-forbidden`, or the legacy code 453), and
X's problem bodies. Tests play citizens (`mention`, `post`, `vote_in_poll`), read what the bot
posted (`posts`, `replies_to`, `dms`, `poll_of`), move the fake's clock (`advance`), inject faults
(`fail_next`, `exhaust`) and replay recorded payloads (`replay`). Given an `XSpec`, every answer
is checked against the OpenAPI schemas, and every request body the fake accepts against the
request schema, so the fake can be neither stricter in what it sends nor laxer in what it takes.

Usage::

    async with FakeX() as fake:
        client = XApiClient(api_url=fake.base_url, **fake.credentials)
        fake.mention("when is garbage day?", by="dana")
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from aiohttp import web

from townhall.testing.fake_x_api import PROBLEMS, ApiProblem
from townhall.testing.fake_x_oauth import OAuthVerifier, base_string_uri
from townhall.testing.fake_x_polls import XPollsApi
from townhall.testing.fake_x_state import JSON, XState
from townhall.testing.serving import serve

T = TypeVar("T")
WINDOW = 15 * 60
# endpoint -> (requests per window, window seconds): X's published per-endpoint limits
DEFAULT_LIMITS = {
    "me": (75, WINDOW), "mentions": (450, WINDOW), "search": (450, WINDOW),
    "post": (200, WINDOW), "delete": (50, WINDOW), "dm": (200, WINDOW), "lookup": (450, WINDOW),
}  # fmt: skip
USER_ONLY = frozenset({"me", "post", "delete", "dm"})
TIERS = {
    "pro": frozenset(),
    "no-search": frozenset({"search"}),
    "free": frozenset({"mentions", "search", "dm", "lookup"}),
}
SCHEMAS = {
    "me": "GetUsersMeResponse", "mentions": "GetUsersMentionsResponse",
    "search": "SearchPostsRecentResponse", "post": "CreatePostsResponse",
    "delete": "DeletePostsResponse", "dm": "CreateDirectMessagesByParticipantIdResponse",
    "lookup": "GetPostsByIdResponse",
}  # fmt: skip
REQUEST_SCHEMAS = {"post": "CreatePostsRequest"}


@dataclass
class Call:
    endpoint: str
    method: str
    params: JSON
    status: int = 0
    at: float = field(default_factory=time.time)


@dataclass
class _Window:
    limit: int
    seconds: float
    used: int = 0
    reset_at: float = 0.0

    def roll(self, now: float) -> None:
        if now >= self.reset_at:
            self.used, self.reset_at = 0, now + self.seconds

    def headers(self) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(max(0, self.limit - self.used)),
            "x-rate-limit-reset": str(math.ceil(self.reset_at)),
        }


def _problem(status: int, title: str, detail: str, kind: str = "about:blank", **extra: Any):
    return ApiProblem(status, {"title": title, "detail": detail, "type": kind,
                               "status": status, **extra})


class FakeX(XPollsApi):
    def __init__(
        self,
        *,
        username: str = "SpringfieldGov",
        name: str = "City of Springfield",
        tier: str = "pro",
        denial: str = "403",
        rate_limits: dict[str, tuple[int, float]] | None = None,
        spec: Any = None,
    ) -> None:
        """`denial` is how a forbidden endpoint answers: "403" (client-forbidden problem) or
        "453" (HTTP 403 with the legacy error code 453)."""
        self.state = XState(username, name)
        self.consumer_key, self.consumer_secret = "fake-consumer-key", "fake-consumer-secret"
        self.access_token = f"{self.state.account['id']}-fake-access-token"
        self.access_token_secret = "fake-access-token-secret"
        self.bearer_token = "AAAAAAAAAAAAAAAAAAAAAFakeBearerToken"
        self.oauth = OAuthVerifier(
            {self.consumer_key: self.consumer_secret},
            {self.access_token: self.access_token_secret},
        )
        self.tier, self.denial = tier, denial
        limits = {**DEFAULT_LIMITS, **(rate_limits or {})}
        self._windows = {name: _Window(*limit) for name, limit in limits.items()}
        self.spec = spec
        self.spec_violations: list[str] = []
        self.calls: list[Call] = []
        self.auth_failures: list[str] = []
        self._faults: list[tuple[str, int, float, list[int]]] = []
        self._replays: list[tuple[str, int, str]] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeX:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the fake X only listens on loopback")
        app = web.Application()
        route = app.router.add_route
        route("GET", "/2/users/me", self._wrap("me", lambda r, p, b: self.users_me(p)))
        route("GET", "/2/users/{id}/mentions", self._wrap(
            "mentions", lambda r, p, b: self.users_mentions(r.match_info["id"], p)))
        route("GET", "/2/tweets/search/recent", self._wrap(
            "search", lambda r, p, b: self.search_recent(p, self.state.now())))
        route("GET", "/2/tweets/{id}", self._wrap(
            "lookup", lambda r, p, b: self.lookup_post(r.match_info["id"], p)))
        route("POST", "/2/tweets", self._wrap("post", lambda r, p, b: self.create_post(b)))
        route("DELETE", "/2/tweets/{id}", self._wrap(
            "delete", lambda r, p, b: self.delete_post(r.match_info["id"])))
        route("POST", "/2/dm_conversations/with/{participant_id}/messages", self._wrap(
            "dm", lambda r, p, b: self.send_dm(r.match_info["participant_id"], b)))
        self._runner, self._port = await serve(app, host, port)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeX:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeX is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def credentials(self) -> dict[str, str]:
        """Keyword arguments for `XApiClient`, and the keys of `TOWNHALL_X__*`."""
        return {
            "bearer_token": self.bearer_token, "consumer_key": self.consumer_key,
            "consumer_secret": self.consumer_secret, "access_token": self.access_token,
            "access_token_secret": self.access_token_secret,
        }  # fmt: skip

    @property
    def account(self) -> JSON:
        return self.state.account

    # --- citizens -----------------------------------------------------------------------------
    def post(self, text: str, *, by: str = "dana", name: str | None = None,
             in_reply_to: str | None = None, lang: str = "en", **extra: Any) -> JSON:
        """A public post by citizen `by` (created on first use)."""
        author = self.state.add_user(by, name)
        return self.state.create_post(author, text, in_reply_to=in_reply_to, lang=lang, **extra)

    def mention(self, text: str, *, by: str = "dana", **kwargs: Any) -> JSON:
        """A post addressed to the city's account (`@account text`)."""
        handle = f"@{self.account['username']}"
        return self.post(text if handle in text else f"{handle} {text}", by=by, **kwargs)

    # --- what the bot did ---------------------------------------------------------------------
    @property
    def posts(self) -> list[JSON]:
        """The account's posts, oldest first, with their text as posted (not escaped)."""
        mine = [p for p in self.state.posts.values() if p["author_id"] == self.account["id"]]
        return sorted(mine, key=lambda p: int(p["id"]))

    def replies_to(self, post_id: str) -> list[JSON]:
        return [p for p in self.posts
                if any(r["id"] == post_id for r in p["referenced_tweets"])]

    @property
    def dms(self) -> list[JSON]:
        return list(self.state.dms)

    def calls_to(self, endpoint: str) -> list[Call]:
        return [c for c in self.calls if c.endpoint == endpoint]

    async def wait_for(self, probe: Callable[[], T], *, timeout: float = 5.0) -> T:
        """Poll `probe` until it returns something truthy; that value."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"fake X: condition not met in {timeout}s; "
                                   f"posts={[p['text'][:60] for p in self.posts]}")
            await asyncio.sleep(0.01)

    # --- faults, tiers, replays ---------------------------------------------------------------
    def fail_next(self, endpoint: str, status: int = 429, *, reset_in: float = 1.0,
                  count: int = 1) -> None:
        """The next `count` calls of `endpoint` answer `status`, with no side effect."""
        self._faults.append((endpoint, status, reset_in, [count]))

    def exhaust(self, endpoint: str, reset_in: float) -> None:
        """Spend `endpoint`'s budget: every call answers 429 for `reset_in` seconds."""
        window = self._windows[endpoint]
        window.used, window.reset_at = window.limit, time.time() + reset_in

    def replay(self, endpoint: str, body: str, status: int = 200) -> None:
        """Answer the next call of `endpoint` with a recorded body (after the auth checks)."""
        self._replays.append((endpoint, status, body))

    # --- HTTP ---------------------------------------------------------------------------------
    def _wrap(self, endpoint: str, handler: Callable[[web.Request, JSON, Any], tuple[int, JSON]]):
        async def handle(request: web.Request) -> web.Response:
            now = time.time()
            window = self._windows[endpoint]
            window.roll(now)
            params = dict(parse_qsl(request.raw_path.partition("?")[2], keep_blank_values=True))
            call = Call(endpoint, request.method, params)
            self.calls.append(call)
            try:
                body = await self._read_body(request)
                call.params = {**params, **(body if isinstance(body, dict) else {})}
                self._authorize(request, endpoint, now)
                status, payload = self._guard(endpoint, window, now) or handler(
                    request, params, body
                )
            except ApiProblem as problem:
                status, payload = problem.status, problem.body
            call.status = status
            if status < 400:
                self._check_request(endpoint, body)
            headers = window.headers()
            if isinstance(payload, str):  # a replayed recording, served verbatim
                return web.Response(text=payload, status=status, headers=headers,
                                    content_type="application/json")
            self._check(endpoint, status, payload)
            kind = "application/problem+json" if status >= 400 and "type" in payload else (
                "application/json")
            return web.Response(text=json.dumps(payload), status=status, headers=headers,
                                content_type=kind)

        return handle

    @staticmethod
    async def _read_body(request: web.Request) -> Any:
        if not request.can_read_body:
            return None
        raw = await request.text()
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise _problem(400, "Invalid Request", "The request body is not valid JSON",
                           PROBLEMS + "invalid-request") from None

    def _authorize(self, request: web.Request, endpoint: str, now: float) -> None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            if endpoint in USER_ONLY:
                raise _problem(
                    403, "Unsupported Authentication",
                    "Authenticating with OAuth 2.0 Application-Only is forbidden for this "
                    "endpoint.  Supported authentication types are [OAuth 1.0a User Context, "
                    "OAuth 2.0 User Context].", PROBLEMS + "unsupported-authentication")
            if header[7:] == self.bearer_token:
                return
            reason = "unknown bearer token"
        else:
            uri = base_string_uri(request.scheme, request.url.host or "", request.url.port,
                                  request.raw_path.partition("?")[0])
            query = parse_qsl(request.raw_path.partition("?")[2], keep_blank_values=True)
            token, reason = self.oauth.verify(request.method, uri, header, query, now)
            if token is not None:
                return
        self.auth_failures.append(f"{endpoint}: {reason}")
        raise _problem(401, "Unauthorized", "Unauthorized")

    def _guard(self, endpoint: str, window: _Window, now: float) -> tuple[int, Any] | None:
        """Injected faults, the tier and the rate limit, in that order; None lets it through."""
        for fault in self._faults:
            name, status, reset_in, left = fault
            if name == endpoint:
                left[0] -= 1
                if left[0] <= 0:
                    self._faults.remove(fault)
                if status == 429:
                    window.used, window.reset_at = window.limit, now + reset_in
                    raise _problem(429, "Too Many Requests", "Too Many Requests")
                if status == 403:
                    raise _problem(403, "Forbidden",
                                   "You are not allowed to create a Tweet with duplicate content.")
                raise _problem(status, "Error", f"Injected {status}")
        if endpoint in TIERS[self.tier]:
            if self.denial == "453":
                raise ApiProblem(403, {"errors": [{"code": 453, "message": (
                    "You currently have access to a subset of X API V2 endpoints and limited "
                    "v1.1 endpoints (e.g. media post, oauth) only. If you need access to this "
                    "endpoint, you may need a different access level.")}]})
            raise _problem(
                403, "Client Forbidden",
                "When authenticating requests to the Twitter API v2 endpoints, you must use "
                "keys and tokens from a Twitter developer App that is attached to a Project.",
                PROBLEMS + "client-forbidden", reason="client-not-enrolled",
                registration_url="https://developer.x.com/en/docs/projects/overview",
                required_enrollment="Appropriate Level of API Access")
        if window.used >= window.limit:
            raise _problem(429, "Too Many Requests", "Too Many Requests")
        window.used += 1
        for replay in self._replays:
            if replay[0] == endpoint:
                self._replays.remove(replay)
                return replay[1], replay[2]
        return None

    def _check(self, endpoint: str, status: int, payload: JSON) -> None:
        if self.spec is None:
            return
        errors = self.spec.response_errors(SCHEMAS[endpoint], status, payload)
        self.spec_violations.extend(f"{endpoint} {status}: {e}" for e in errors)

    def _check_request(self, endpoint: str, body: Any) -> None:
        """A body the fake accepted must be one the spec accepts (a refused one may not be:
        X has rules the schema cannot say, such as the weighted length of a post)."""
        if self.spec is None or endpoint not in REQUEST_SCHEMAS:
            return
        errors = self.spec.errors(REQUEST_SCHEMAS[endpoint], body)
        self.spec_violations.extend(f"{endpoint} request accepted: {e}" for e in errors)


class MemoryCheckpoints:
    """A checkpoint store in memory, for tests that run `XChannel` without a database."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self.data.get(key)

    async def advance(self, key: str, since_id: str) -> None:
        current = self.data.get(key)
        if current is None or int(since_id) > int(current):
            self.data[key] = since_id
