"""tweepy's `AsyncClient`, pointed at a configurable API base URL and aware of rate limits.

tweepy writes the host into `AsyncBaseClient.request` as a literal, and the OAuth 1.0a signature
covers the full URL, so rewriting the URL underneath tweepy (in a session wrapper) would send
requests signed for another host. Overriding `request`, the one method every endpoint goes
through, keeps every public tweepy method and its parameter handling, signs the URL actually
called, and is also where each response's `x-rate-limit-*` headers can be read (tweepy's
`Response` drops headers).

Errors keep tweepy's classes, with two of our own that callers act on: `RateLimited` (a 429, or
an endpoint whose budget is known to be spent, so no request is made) and `AccessDenied` (401,
or 403/453 saying the credentials' access level does not include the endpoint).
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from oauthlib.oauth1 import Client as OAuthClient
from tweepy import BadRequest, Forbidden, HTTPException, NotFound, TwitterServerError
from tweepy.asynchronous import AsyncClient
from yarl import URL

log = logging.getLogger(__name__)

# problem types and legacy codes that mean "your access level does not include this"
ACCESS_PROBLEMS = ("client-forbidden", "unsupported-authentication")
ACCESS_CODE = 453
_ID_SEGMENT = re.compile(r"/\d{4,}(?=/|$)")


def endpoint_of(method: str, route: str) -> str:
    """The rate-limit bucket of a call: method and route with ids generalised."""
    return f"{method} {_ID_SEGMENT.sub('/:id', route.split('?', 1)[0])}"


class RateLimited(Exception):
    def __init__(self, endpoint: str, retry_after: float):
        super().__init__(f"{endpoint}: rate limit reached, retry in {retry_after:.0f}s")
        self.endpoint = endpoint
        self.retry_after = retry_after


class AccessDenied(Exception):
    def __init__(self, endpoint: str, status: int, detail: str):
        super().__init__(f"{endpoint}: {status} {detail}")
        self.endpoint = endpoint
        self.status = status
        self.detail = detail


@dataclass
class _Window:
    remaining: int
    reset_at: float


class RateLimits:
    """What X said about each endpoint's budget; an endpoint with none left waits for reset.

    X's reset is a Unix time in whole seconds: one second is added to stay on the safe side of
    clock differences.
    """

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self._windows: dict[str, _Window] = {}

    def record(self, endpoint: str, headers: Mapping[str, str], status: int) -> None:
        try:
            reset_at = float(headers["x-rate-limit-reset"]) + 1
            remaining = int(headers.get("x-rate-limit-remaining", "1"))
        except (KeyError, ValueError):
            if status != 429:
                return
            reset_at, remaining = self.clock() + 60, 0  # no hint: X's windows are 15 min
        if status == 429:
            remaining = 0
        self._windows[endpoint] = _Window(remaining, reset_at)

    def wait(self, endpoint: str) -> float:
        """Seconds until `endpoint` may be called again (0: now)."""
        window = self._windows.get(endpoint)
        if window is None or window.remaining > 0:
            return 0.0
        return max(0.0, window.reset_at - self.clock())

    def remaining(self, endpoint: str) -> int | None:
        window = self._windows.get(endpoint)
        if window is None or window.reset_at <= self.clock():
            return None
        return window.remaining


def _problem_detail(body: Any) -> tuple[bool, str]:
    """Whether an error body says "access level", and its human-readable detail."""
    if not isinstance(body, dict):
        return False, ""
    detail = str(body.get("detail") or body.get("title") or "")
    kind = str(body.get("type") or "")
    if any(kind.endswith(problem) for problem in ACCESS_PROBLEMS):
        return True, detail
    for error in body.get("errors") or ():
        if isinstance(error, dict) and error.get("code") == ACCESS_CODE:
            return True, str(error.get("message") or detail)
    return False, detail


class XApiClient(AsyncClient):
    """`AsyncClient` against `api_url`, with one `aiohttp` session for its whole life."""

    def __init__(
        self,
        *,
        api_url: str = "https://api.x.com",
        bearer_token: str | None = None,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        access_token: str | None = None,
        access_token_secret: str | None = None,
        limits: RateLimits | None = None,
        timeout: float = 30.0,
    ):
        super().__init__(
            bearer_token, consumer_key, consumer_secret, access_token, access_token_secret
        )
        self.api_url = api_url.rstrip("/")
        self.limits = limits or RateLimits()
        self.timeout = timeout

    @property
    def has_user_auth(self) -> bool:
        keys = (self.consumer_key, self.consumer_secret, self.access_token,
                self.access_token_secret)
        return all(keys)

    async def open(self) -> None:
        if self.session is None:
            self.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout)
            )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    def _signed(self, method: str, url: str, params: dict[str, Any] | None,
                headers: dict[str, str]) -> tuple[URL, dict[str, str]]:
        """Sign like tweepy does: query sorted into the URL, colons encoded after signing."""
        url = str(URL(url).with_query(sorted((params or {}).items())))
        oauth = OAuthClient(
            self.consumer_key, self.consumer_secret, self.access_token, self.access_token_secret
        )
        url, headers, _ = oauth.sign(url, method, headers=headers)
        before, _, query = url.partition("?")
        return URL(f"{before}?{query.replace(':', '%3A')}" if query else before,
                   encoded=True), headers

    async def request(
        self, method: str, route: str, params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None, user_auth: bool = False,
    ) -> aiohttp.ClientResponse:
        endpoint = endpoint_of(method, route)
        wait = self.limits.wait(endpoint)
        if wait > 0:
            raise RateLimited(endpoint, wait)
        await self.open()
        assert self.session is not None
        headers = {"User-Agent": self.user_agent}
        if json is not None:
            headers["Content-Type"] = "application/json"
        url: str | URL = self.api_url + route
        if user_auth:
            url, headers = self._signed(method, str(url), params, headers)
            params = None
        else:
            headers["Authorization"] = f"Bearer {self.bearer_token}"
        async with self.session.request(
            method, url, params=params, json=json, headers=headers
        ) as response:
            await response.read()
        self.limits.record(endpoint, response.headers, response.status)
        if 200 <= response.status < 300:
            return response
        try:
            body = await response.json(content_type=None)
        except ValueError:
            body = {}
        self._raise(endpoint, response, body if isinstance(body, dict) else {})
        raise AssertionError("unreachable")

    def _raise(self, endpoint: str, response: aiohttp.ClientResponse, body: dict) -> None:
        status = response.status
        if status == 429:
            raise RateLimited(endpoint, math.ceil(self.limits.wait(endpoint)))
        access, detail = _problem_detail(body)
        if status == 401 or status == ACCESS_CODE or (status == 403 and access):
            raise AccessDenied(endpoint, status, detail or response.reason or "")
        for code, error in ((400, BadRequest), (403, Forbidden), (404, NotFound)):
            if status == code:
                raise error(response, response_json=body)
        if status >= 500:
            raise TwitterServerError(response, response_json=body)
        raise HTTPException(response, response_json=body)
