"""OAuth 1.0a (RFC 5849) signature checking for the fake X API, written from the RFC.

Why not oauthlib's server side: the client (tweepy) signs with oauthlib, so checking with an
independent implementation is what catches a client that signs the wrong URL, drops a query
parameter or encodes it differently. HMAC-SHA1 only, as X uses; the signature key is the
consumer secret and the token secret, each percent-encoded, joined by "&".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Iterable
from urllib.parse import quote, unquote

_PARAM = re.compile(r'([\w-]+)="([^"]*)"')
MAX_CLOCK_SKEW = 300  # seconds, as OAuth servers commonly allow


def encode(value: str) -> str:
    """RFC 3986 percent-encoding: everything but unreserved characters."""
    return quote(value, safe="~")


def parse_authorization(header: str) -> dict[str, str] | None:
    """The `oauth_*` parameters of an `Authorization: OAuth ...` header, decoded."""
    if not header.startswith("OAuth "):
        return None
    return {name: unquote(value) for name, value in _PARAM.findall(header[6:])}


def base_string_uri(scheme: str, host: str, port: int | None, path: str) -> str:
    scheme, host = scheme.lower(), host.lower()
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{netloc}{path}"


def signature_base_string(
    method: str, uri: str, params: Iterable[tuple[str, str]]
) -> str:
    pairs = sorted((encode(name), encode(value)) for name, value in params)
    normalized = "&".join(f"{name}={value}" for name, value in pairs)
    return "&".join((method.upper(), encode(uri), encode(normalized)))


def hmac_sha1(base_string: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{encode(consumer_secret)}&{encode(token_secret)}".encode()
    digest = hmac.new(key, base_string.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class OAuthVerifier:
    """Checks signed requests against known consumer and access-token secrets."""

    def __init__(self, consumers: dict[str, str], tokens: dict[str, str]):
        self.consumers = consumers
        self.tokens = tokens
        self._nonces: dict[tuple[str, str], float] = {}

    def verify(
        self,
        method: str,
        uri: str,
        header: str,
        request_params: Iterable[tuple[str, str]],
        now: float | None = None,
    ) -> tuple[str | None, str]:
        """(access token, "") if the request is properly signed, else (None, why not).

        `request_params` are the decoded query (and form body) parameters, repeated ones
        included; `uri` is the base string URI (scheme, host, port, path).
        """
        oauth = parse_authorization(header)
        if oauth is None:
            return None, "no OAuth authorization header"
        if oauth.get("oauth_signature_method") != "HMAC-SHA1":
            return None, "unsupported signature method"
        if oauth.get("oauth_version", "1.0") != "1.0":
            return None, "unsupported OAuth version"
        consumer_secret = self.consumers.get(oauth.get("oauth_consumer_key", ""))
        token = oauth.get("oauth_token", "")
        token_secret = self.tokens.get(token)
        if consumer_secret is None or token_secret is None:
            return None, "unknown consumer key or access token"
        now = time.time() if now is None else now
        try:
            timestamp = int(oauth.get("oauth_timestamp", ""))
        except ValueError:
            return None, "bad timestamp"
        if abs(now - timestamp) > MAX_CLOCK_SKEW:
            return None, "timestamp out of bounds"
        nonce = oauth.get("oauth_nonce", "")
        if not nonce or (token, nonce) in self._nonces:
            return None, "nonce missing or used before"
        signed = [(k, v) for k, v in oauth.items() if k.startswith("oauth_")
                  and k != "oauth_signature"]
        base = signature_base_string(method, uri, [*request_params, *signed])
        expected = hmac_sha1(base, consumer_secret, token_secret)
        if not hmac.compare_digest(expected, oauth.get("oauth_signature", "")):
            return None, "signature mismatch"
        self._nonces = {k: t for k, t in self._nonces.items() if t > now - MAX_CLOCK_SKEW}
        self._nonces[(token, nonce)] = now
        return token, ""
