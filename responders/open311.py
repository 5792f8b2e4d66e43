"""An async client for a city's Open311 GeoReport v2 endpoint (JSON format only).

Why: many cities take service requests (potholes, dark streetlights, missed pickups) through the
same GeoReport v2 API, so Townhall can file a citizen's report with the city's own system and
follow its status instead of keeping a parallel queue. Everything a caller needs to decide what to
do next is in `Open311Error`: `permanent` says whether retrying can help, `retry_after` how long to
wait. Nothing from the wire escapes as a KeyError or JSONDecodeError: a body that is not what the
spec describes is an `Open311Error` too, so one `except` covers a misbehaving city.

Choices where the spec leaves room:
- the api_key is sent only with POST (GETs do not require it, and URLs end up in access logs);
- ids, tokens and codes are strings even when a server sends numbers (the spec's own examples do);
- datetimes become aware UTC datetimes; a server omitting the offset is taken to mean UTC;
- `status` is kept as the server spells it, lower-cased ("open"/"closed" per spec, some servers
  add states);
- a POST that times out (status 0) may still have created the request: retrying can duplicate it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

MAX_DESCRIPTION = 4000  # the spec's limit on `description`
# 4xx answers that are about timing, not about the request: retrying later can succeed
_TRANSIENT_4XX = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Service:
    """One row of GET services.json: a request type the city accepts."""

    code: str
    name: str
    description: str = ""
    metadata: bool = False  # True: GET services/{code}.json lists extra attributes to send
    type: str = "realtime"  # realtime (id at once) | batch (token first) | blackbox (neither)
    keywords: tuple[str, ...] = ()
    group: str = ""


@dataclass(frozen=True)
class Submitted:
    """What POST requests.json answered: an id, or a token to trade for one later."""

    request_id: str | None  # service_request_id, or None when the server answered with a token only
    token: str | None = None
    notice: str | None = None  # service_notice
    account_id: str | None = None


@dataclass(frozen=True)
class ServiceRequest:
    """One row of GET requests/{id}.json: where the city is with a request."""

    id: str
    status: str  # "open" | "closed"
    status_notes: str | None = None
    service_code: str = ""
    service_name: str = ""
    description: str = ""
    agency_responsible: str | None = None
    service_notice: str | None = None
    requested_datetime: datetime | None = None
    updated_datetime: datetime | None = None
    expected_datetime: datetime | None = None
    address: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None


class Open311Error(Exception):
    """The endpoint refused, failed or could not be reached.

    `status` is the HTTP status, or 0 when no answer came (timeout, refused or dropped
    connection). `code` and `description` come from the spec's error array
    (`[{"code": 403, "description": "..."}]`; several errors are joined with "; "), else
    `description` says what was wrong with the answer. `permanent` is True for 3xx and 4xx (bad
    key, unknown id or code, invalid request: retrying cannot help) except 408/425/429, and False
    for those, 5xx, no answer, and a success status with an unreadable body (a proxy glitch can
    cause that). `retry_after` is the Retry-After header in seconds, when the server gave one.
    """

    def __init__(
        self,
        status: int,
        description: str,
        *,
        code: int | str | None = None,
        retry_after: float | None = None,
    ) -> None:
        where = f"HTTP {status}" if status else "no answer"
        super().__init__(f"Open311 {where}: {description}")
        self.status = status
        self.code = code
        self.description = description
        self.retry_after = retry_after

    @property
    def permanent(self) -> bool:
        return 300 <= self.status < 500 and self.status not in _TRANSIENT_4XX


class _Unexpected(Exception):
    """A body that does not have the spec's shape; becomes an Open311Error with its status."""


class Open311Client:
    """One city's GeoReport v2 endpoint, e.g. ``https://311.city.gov/open311/v2/``."""

    def __init__(
        self,
        endpoint: str,
        *,
        api_key: str | None = None,
        jurisdiction_id: str | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url = httpx.URL(endpoint)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"endpoint must be an http(s) URL, got {endpoint!r}")
        self._api_key = api_key
        self._jurisdiction = jurisdiction_id
        self._timeout = timeout
        # httpx joins relative paths under base_url (it adds the trailing slash when missing);
        # redirects are not followed: a POST redirected to a GET would silently lose the report
        self._http = httpx.AsyncClient(
            base_url=url,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "Townhall-Open311/1"},
        )

    async def __aenter__(self) -> Open311Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- API methods ---------------------------------------------------------------------------
    async def services(self) -> list[Service]:
        status, body = await self._call("GET", "services.json")
        with _parsing(status, "services.json"):
            return [_service(row) for row in _rows(body)]

    async def create_request(
        self,
        *,
        service_code: str,
        description: str,
        lat: float | None = None,
        long: float | None = None,
        address: str | None = None,
        address_id: str | None = None,
        media_url: str | None = None,
        account_id: str | None = None,
        attributes: dict[str, str] | None = None,
    ) -> Submitted:
        """POST requests.json. Raises ValueError, before sending, for what no server accepts."""
        form = _request_form(service_code, description, lat, long, address, address_id)
        if media_url:
            form["media_url"] = media_url
        if account_id:
            form["account_id"] = account_id
        for code, value in (attributes or {}).items():
            form[f"attribute[{code}]"] = value
        if self._api_key is not None:
            form["api_key"] = self._api_key
        status, body = await self._call("POST", "requests.json", form=form)
        with _parsing(status, "requests.json"):
            rows = _rows(body)
            if not rows:
                raise _Unexpected("the answer to the POST is an empty list")
            row = rows[0]
            return Submitted(
                request_id=_text(row, "service_request_id"),
                token=_text(row, "token"),
                notice=_text(row, "service_notice"),
                account_id=_text(row, "account_id"),
            )

    async def request_id_for_token(self, token: str) -> str | None:
        """GET tokens/{token}.json: the request's id, or None while the city has not assigned it."""
        path = f"tokens/{_segment(token, 'token')}.json"
        status, body = await self._call("GET", path)
        with _parsing(status, path):
            rows = _rows(body)
            return _text(rows[0], "service_request_id") if rows else None

    async def get_request(self, request_id: str) -> ServiceRequest:
        path = f"requests/{_segment(request_id, 'request_id')}.json"
        status, body = await self._call("GET", path)
        with _parsing(status, path):
            rows = [_service_request(row) for row in _rows(body)]
        if not rows:  # some servers answer an empty list rather than a 404
            raise Open311Error(404, f"service request {request_id!r} was not found (empty answer)")
        return next((row for row in rows if row.id == request_id), rows[0])

    # --- wire ----------------------------------------------------------------------------------
    async def _call(
        self, method: str, path: str, *, form: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        params = {"jurisdiction_id": self._jurisdiction} if self._jurisdiction else None
        if form is not None and self._jurisdiction:
            form, params = {**form, "jurisdiction_id": self._jurisdiction}, None
        try:  # httpx encodes `data` as application/x-www-form-urlencoded, as the spec asks
            response = await self._http.request(method, path, params=params, data=form)
        except httpx.TimeoutException as exc:
            raise Open311Error(0, f"{method} {path} timed out after {self._timeout:g}s") from exc
        except httpx.TransportError as exc:  # refused, reset, dropped mid-answer, bad HTTP
            raise Open311Error(0, f"{method} {path} failed: {exc!r}") from exc
        if not 200 <= response.status_code < 300:
            raise _error_from(response)
        try:
            return response.status_code, response.json()
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
            raise Open311Error(
                response.status_code, f"{path} answered a non-JSON body: {_snippet(response)}"
            ) from exc


def _request_form(
    service_code: str,
    description: str,
    lat: float | None,
    long: float | None,
    address: str | None,
    address_id: str | None,
) -> dict[str, str]:
    """The spec's required arguments, checked here so a bad report never costs a round trip."""
    if not service_code:
        raise ValueError("service_code is required")
    if (lat is None) != (long is None):
        raise ValueError("lat and long must be given together")
    if lat is None and not address and not address_id:
        raise ValueError("a location is required: lat and long, address or address_id")
    if len(description) > MAX_DESCRIPTION:
        raise ValueError(f"description is longer than the spec's {MAX_DESCRIPTION} characters")
    form = {"service_code": service_code, "description": description}
    if lat is not None and long is not None:
        if not (math.isfinite(lat) and math.isfinite(long)) or abs(lat) > 90 or abs(long) > 180:
            raise ValueError(f"lat/long out of range: {lat}, {long}")
        form.update(lat=str(float(lat)), long=str(float(long)))
    if address:
        form["address_string"] = address
    if address_id:
        form["address_id"] = address_id
    return form


def _segment(value: str, name: str) -> str:
    """A path segment: quoted so an id like ``../services`` cannot address another resource."""
    if not value:
        raise ValueError(f"{name} must not be empty")
    return quote(value, safe="")


def _error_from(response: httpx.Response) -> Open311Error:
    status = response.status_code
    retry_after = _retry_after(response.headers.get("Retry-After"))
    if 300 <= status < 400:
        where = response.headers.get("Location", "?")
        return Open311Error(status, f"unexpected redirect to {where} (check the endpoint URL)")
    try:
        errors = _error_entries(response.json())
    except ValueError:
        errors = []
    if not errors:
        return Open311Error(status, _snippet(response), retry_after=retry_after)
    description = "; ".join(text for _, text in errors)
    return Open311Error(status, description, code=errors[0][0], retry_after=retry_after)


def _error_entries(body: Any) -> list[tuple[int | str | None, str]]:
    """The spec's error array; also the XML-to-JSON shape ``{"errors": {"error": [...]}}``."""
    if isinstance(body, dict):
        inner = body.get("errors", body.get("error"))
        if inner is not None:
            return _error_entries(inner)
        body = [body]
    if not isinstance(body, list):
        return []
    entries: list[tuple[int | str | None, str]] = []
    for item in body:
        if isinstance(item, dict) and item.get("description") is not None:
            code = item.get("code")
            if isinstance(code, str) and code.strip().isdigit():
                code = int(code)
            entries.append(
                (code if isinstance(code, int | str) else None, str(item["description"]))
            )
    return entries


def _retry_after(value: str | None) -> float | None:
    """Retry-After as delta-seconds or an HTTP-date (RFC 9110)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _snippet(response: httpx.Response) -> str:
    text = " ".join(response.text.split())[:200] if response.content else "(empty body)"
    return f"HTTP {response.status_code} {response.reason_phrase}: {text}"


@contextmanager
def _parsing(status: int, path: str) -> Iterator[None]:
    try:
        yield
    except _Unexpected as exc:
        raise Open311Error(status, f"{path} answered an unexpected body: {exc}") from exc


def _rows(body: Any) -> list[dict[str, Any]]:
    """The spec answers lists; a lone object is taken as a list of one (some servers do that)."""
    rows = [body] if isinstance(body, dict) else body
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise _Unexpected(f"expected a list of objects, got {type(body).__name__}")
    return rows


def _text(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Unexpected(f"{key} is not text: {value!r}")
    return str(value)


def _required(row: dict[str, Any], key: str) -> str:
    value = _text(row, key)
    if value is None:
        raise _Unexpected(f"{key} is missing")
    return value


def _number(row: dict[str, Any], key: str) -> float | None:
    value = _text(row, key)
    try:
        return None if value is None else float(value)
    except ValueError:
        raise _Unexpected(f"{key} is not a number: {value!r}") from None


def _datetime(row: dict[str, Any], key: str) -> datetime | None:
    value = _text(row, key)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _Unexpected(f"{key} is not an ISO 8601 datetime: {value!r}") from None
    if parsed.tzinfo is None:  # the spec requires an offset; UTC is the least surprising guess
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _flag(row: dict[str, Any], key: str) -> bool:
    value = row.get(key, False)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", ""):
        return value.strip().lower() == "true"
    if not isinstance(value, bool) and value is not None:
        raise _Unexpected(f"{key} is not a boolean: {value!r}")
    return bool(value)


def _service(row: dict[str, Any]) -> Service:
    keywords = row.get("keywords") or ()
    if isinstance(keywords, str):
        keywords = keywords.split(",")
    if not isinstance(keywords, list | tuple):
        raise _Unexpected(f"keywords is not a list: {keywords!r}")
    return Service(
        code=_required(row, "service_code"),
        name=_required(row, "service_name"),
        description=_text(row, "description") or "",
        metadata=_flag(row, "metadata"),
        type=(_text(row, "type") or "realtime").lower(),
        keywords=tuple(word for word in (str(k).strip() for k in keywords) if word),
        group=_text(row, "group") or "",
    )


def _service_request(row: dict[str, Any]) -> ServiceRequest:
    return ServiceRequest(
        id=_required(row, "service_request_id"),
        status=_required(row, "status").lower(),
        status_notes=_text(row, "status_notes"),
        service_code=_text(row, "service_code") or "",
        service_name=_text(row, "service_name") or "",
        description=_text(row, "description") or "",
        agency_responsible=_text(row, "agency_responsible"),
        service_notice=_text(row, "service_notice"),
        requested_datetime=_datetime(row, "requested_datetime"),
        updated_datetime=_datetime(row, "updated_datetime"),
        expected_datetime=_datetime(row, "expected_datetime"),
        address=_text(row, "address"),
        lat=_number(row, "lat"),
        long=_number(row, "long"),
        media_url=_text(row, "media_url"),
    )
