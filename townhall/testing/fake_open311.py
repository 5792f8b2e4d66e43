"""A faithful local fake of a city's Open311 GeoReport v2 endpoint: aiohttp on 127.0.0.1.

Why: the Open311 client (and demos) must be exercised over real HTTP without a city's server:
form-encoded POSTs, the spec's error arrays and status codes, tokens, and the failures a city's
server really has (5xx, 429 with Retry-After, slow answers). Tests play the city with the hooks:
`requests` (id -> stored request, including what was submitted but is not public: attributes,
account_id, email...), `calls`, `update`, `assign_tokens`, `fail_next` and `delay_next`.

Where the spec leaves a choice, the fake does this:
- JSON only: `.xml` (or no format suffix) answers 400 saying so, as a JSON error array.
- jurisdiction_id is ignored unless the fake has one (the spec lets single-jurisdiction servers
  ignore it); then it is required: missing -> 400, another one -> 404 ("not found", as the
  spec's error lists say for every method).
- POST: missing or wrong api_key -> 403; an unknown service_code -> 404 (the spec's POST error
  list: "service_code or jurisdiction_id provided were not found"); a missing service_code, a
  missing location (lat+long, address_string or address_id), lat without long, neither
  description nor media_url, a description over 4,000 characters, or a missing required
  attribute -> 400.
- Tokens: with `tokens=True` every POST (and always a `batch` service's) answers a token only;
  GET tokens/{token}.json answers `service_request_id: null` until `assign_tokens()` gives the
  pending requests their ids (before that they are not in `requests`). A `blackbox` service
  answers neither id nor token.
- GET requests.json: `service_request_id` (comma list) overrides the other filters; the date
  range defaults to the 90 days ending at end_date (or now), may not span more than 90 days, and
  at most 1,000 requests come back, newest first.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from townhall.testing.serving import serve

JSON = dict[str, Any]
CITY_TZ = timezone(timedelta(hours=-8))  # answers carry an offset, as the spec's examples do
SPAN = timedelta(days=90)
MAX_RESULTS = 1000
MAX_DESCRIPTION = 4000
FORM = "application/x-www-form-urlencoded"
SERVICE_FIELDS = ("service_code", "service_name", "description", "metadata", "type", "keywords",
                  "group")  # fmt: skip
PUBLIC_FIELDS = ("service_request_id", "status", "status_notes", "service_name", "service_code",
                 "description", "agency_responsible", "service_notice", "requested_datetime",
                 "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                 "lat", "long", "media_url")  # fmt: skip
SUBMITTED_FIELDS = ("account_id", "email", "device_id", "first_name", "last_name", "phone",
                    "jurisdiction_id")  # fmt: skip
PUBLIC_WORKS = "Department of Public Works"
SANITATION = "Department of Sanitation"
# service_notice and agency_responsible are the fake's own keys: never shown in services.json
DEFAULT_SERVICES: tuple[JSON, ...] = (
    {"service_code": "POTHOLE", "service_name": "Pothole",
     "description": "A hole or sunken patch in a street, bike lane or alley.",
     "keywords": "pothole, road, street, asphalt, hole", "group": "Streets",
     "agency_responsible": PUBLIC_WORKS,
     "service_notice": "Crews inspect reported potholes within 3 business days."},
    {"service_code": "STREETLIGHT", "service_name": "Streetlight out",
     "description": "A streetlight that is dark, flickering or on during the day.",
     "keywords": "streetlight, street light, lamp, dark, flickering", "group": "Streets",
     "agency_responsible": PUBLIC_WORKS},
    {"service_code": "GRAFFITI", "service_name": "Graffiti removal",
     "description": "Graffiti on public property: walls, signs, benches, bridges.",
     "keywords": "graffiti, tag, vandalism, paint", "group": "Sanitation",
     "agency_responsible": SANITATION,
     "service_notice": "Offensive graffiti is removed within a day, other graffiti in a week."},
    {"service_code": "MISSED_PICKUP", "service_name": "Missed trash or recycling pickup",
     "description": "Trash, recycling or yard waste was not collected on the scheduled day.",
     "keywords": "trash, garbage, recycling, pickup, collection, bin", "group": "Sanitation",
     "agency_responsible": SANITATION},
    {"service_code": "SIDEWALK", "service_name": "Damaged sidewalk",
     "description": "A cracked, lifted or missing section of sidewalk or curb ramp.",
     "keywords": "sidewalk, curb, ramp, trip hazard", "group": "Streets",
     "agency_responsible": PUBLIC_WORKS},
)  # fmt: skip


class _Problem(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


@dataclass
class _Fault:
    suffix: str | None
    status: int
    remaining: int
    retry_after: float | None
    body: Any


def _now() -> datetime:
    return datetime.now(CITY_TZ).replace(microsecond=0)


def _errors(status: int, description: str) -> web.Response:
    return web.json_response([{"code": status, "description": description}], status=status)


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _when(params: dict[str, str], key: str) -> datetime | None:
    if not params.get(key):
        return None
    try:
        value = datetime.fromisoformat(params[key])
    except ValueError:
        raise _Problem(400, f"{key} must be a w3 datetime, e.g. 2010-01-01T00:00:00Z") from None
    if value.tzinfo is None:
        raise _Problem(400, f"{key} must include a timezone (Z or an offset)")
    return value


class FakeOpen311:
    """The fake server. ``async with FakeOpen311() as fake: Open311Client(fake.endpoint, ...)``."""

    def __init__(
        self,
        api_key: str = "test-key",
        services: list[JSON] | None = None,
        jurisdiction_id: str | None = None,
        tokens: bool = False,
    ) -> None:
        self.api_key, self.jurisdiction_id, self.tokens = api_key, jurisdiction_id, tokens
        self.services: dict[str, JSON] = {}
        for given in services if services is not None else DEFAULT_SERVICES:
            service = {"description": "", "metadata": False, "type": "realtime", "group": "",
                       "keywords": "", **given}  # fmt: skip
            if not isinstance(service["keywords"], str):
                service["keywords"] = ", ".join(service["keywords"])
            self.services[str(service["service_code"])] = service
        self.requests: dict[str, JSON] = {}
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self._ids = itertools.count(638344)
        self._tokens: dict[str, str | None] = {}  # token -> service_request_id once assigned
        self._pending: dict[str, JSON] = {}  # token -> request waiting for its id
        self._faults: list[_Fault] = []
        self._delays: list[float] = []
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # --- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> FakeOpen311:
        app = web.Application()
        app.router.add_route("*", "/open311/v2/{tail:.*}", self._handle)
        self._stopping.clear()
        self._runner, self._port = await serve(app)
        return self

    async def stop(self) -> None:
        self._stopping.set()  # delayed answers end now rather than holding the shutdown
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeOpen311:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def endpoint(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeOpen311 is not started")
        return f"http://127.0.0.1:{self._port}/open311/v2/"

    # --- test hooks ----------------------------------------------------------------------------
    def update(
        self,
        request_id: str,
        *,
        status: str | None = None,
        status_notes: str | None = None,
        expected_datetime: datetime | str | None = None,
        agency_responsible: str | None = None,
    ) -> JSON:
        """The city works on a request: change what GET shows and stamp updated_datetime."""
        record = self.requests[request_id]
        if status is not None:
            if status not in ("open", "closed"):
                raise ValueError(f"status must be open or closed, not {status!r}")
            record["status"] = status
        if status_notes is not None:
            record["status_notes"] = status_notes
        if isinstance(expected_datetime, datetime):
            if expected_datetime.tzinfo is None:
                raise ValueError("expected_datetime must be timezone-aware")
            expected_datetime = expected_datetime.astimezone(CITY_TZ).isoformat()
        if expected_datetime is not None:
            record["expected_datetime"] = expected_datetime
        if agency_responsible is not None:
            record["agency_responsible"] = agency_responsible
        record["updated_datetime"] = _now().isoformat()
        return {key: record.get(key) for key in PUBLIC_FIELDS}

    def assign_tokens(self) -> list[str]:
        """The city's batch job runs: every pending token gets its service_request_id."""
        assigned = []
        for token, record in self._pending.items():
            record["service_request_id"] = request_id = str(next(self._ids))
            self.requests[request_id] = record
            self._tokens[token] = request_id
            assigned.append(request_id)
        self._pending.clear()
        return assigned

    def fail_next(
        self,
        path_suffix: str | None = None,
        status: int = 503,
        times: int = 1,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        """The next `times` requests whose path ends with `path_suffix` (any if None) answer
        `status` with `body` (default: the spec's error array; a str/bytes is sent raw, anything
        else as JSON, so a 200 with a canned or broken body is possible too)."""
        self._faults.append(_Fault(path_suffix, status, times, retry_after, body))

    def delay_next(self, seconds: float) -> None:
        """The next request is answered only after `seconds` (a slow or hung city server)."""
        self._delays.append(seconds)

    # --- HTTP ----------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["tail"]
        form = await request.post() if request.method == "POST" else None
        params = dict(request.query)
        params.update({k: v for k, v in (form or {}).items() if isinstance(v, str)})
        self.calls.append((request.method, path, params))
        if self._delays:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._delays.pop(0))
        fault = next((f for f in self._faults if f.suffix is None or path.endswith(f.suffix)), None)
        if fault is not None:
            return self._inject(fault)
        try:
            return self._route(request, path, params, form)
        except _Problem as problem:
            return _errors(problem.status, problem.description)

    def _inject(self, fault: _Fault) -> web.Response:
        fault.remaining -= 1
        if fault.remaining <= 0:
            self._faults.remove(fault)
        headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
        if isinstance(fault.body, str | bytes):
            return web.Response(body=fault.body, status=fault.status, headers=headers,
                                content_type="text/html")  # fmt: skip
        body = fault.body
        if body is None:
            body = [{"code": fault.status, "description": f"injected failure {fault.status}"}]
        return web.json_response(body, status=fault.status, headers=headers)

    def _route(
        self, request: web.Request, path: str, params: dict[str, str], form: Any
    ) -> web.Response:
        stem, dot, fmt = path.rpartition(".")
        if not dot or "/" in fmt:
            raise _Problem(400, "add a format to the resource: this fake serves only .json")
        if fmt != "json":
            raise _Problem(400, f"format {fmt!r} is not supported: this fake serves only JSON")
        if request.method == "POST" and request.content_type != FORM:
            raise _Problem(400, f"POST bodies must be {FORM}, not {request.content_type}")
        if request.method == "POST" and params.get("api_key") != self.api_key:
            raise _Problem(403, "api_key is missing or invalid: cannot create the request")
        if self.jurisdiction_id is not None:
            if not params.get("jurisdiction_id"):
                raise _Problem(400, "jurisdiction_id was not provided")
            if params["jurisdiction_id"] != self.jurisdiction_id:
                raise _Problem(404, f"jurisdiction_id {params['jurisdiction_id']!r} was not found")
        match request.method, stem.split("/"):
            case "GET", ["services"]:
                rows = [{k: s[k] for k in SERVICE_FIELDS} for s in self.services.values()]
                return web.json_response(rows)
            case "GET", ["services", code]:
                service = self.services.get(code)
                if service is None or not service["metadata"]:
                    raise _Problem(404, f"service_code {code!r} has no service definition")
                return web.json_response(
                    {"service_code": code, "attributes": service.get("attributes", [])}
                )
            case "POST", ["requests"]:
                return web.json_response([self._create(params, form)])
            case "GET", ["requests"]:
                return web.json_response(self._search(params))
            case "GET", ["requests", request_id] if request_id in self.requests:
                return web.json_response([self._public(self.requests[request_id])])
            case "GET", ["requests", request_id]:
                raise _Problem(404, f"service_request_id {request_id!r} was not found")
            case "GET", ["tokens", token] if token in self._tokens:
                return web.json_response(
                    [{"token": token, "service_request_id": self._tokens[token]}]
                )
            case "GET", ["tokens", token]:
                raise _Problem(404, f"token {token!r} was not found")
            case _, ["services"] | ["services", _] | ["requests"] | ["requests", _] | ["tokens", _]:
                raise _Problem(405, f"{request.method} is not allowed on {path}")
        raise _Problem(404, f"there is no resource {path!r}")

    def _create(self, params: dict[str, str], form: MultiDictProxy[Any]) -> JSON:
        code = params.get("service_code", "")
        if not code:
            raise _Problem(400, "service_code was not provided")
        if (service := self.services.get(code)) is None:
            raise _Problem(404, f"service_code {code!r} was not found")
        lat, long = params.get("lat", ""), params.get("long", "")
        if bool(lat) != bool(long):
            raise _Problem(400, "lat and long must be sent together")
        if not (lat or params.get("address_string") or params.get("address_id")):
            raise _Problem(
                400, "a location is required: lat and long, address_string or address_id"
            )
        try:
            point = (float(lat), float(long)) if lat else None
        except ValueError:
            raise _Problem(400, "lat and long must be WGS84 decimal degrees") from None
        if point and (abs(point[0]) > 90 or abs(point[1]) > 180):
            raise _Problem(400, "lat and long are out of range")
        description, media_url = params.get("description", ""), params.get("media_url", "")
        if not description.strip() and not media_url:
            raise _Problem(400, "a description or a media_url is required")
        if len(description) > MAX_DESCRIPTION:
            raise _Problem(400, f"description is longer than {MAX_DESCRIPTION} characters")
        attributes: dict[str, str | list[str]] = {}
        for key, value in form.items():
            if key.startswith("attribute[") and "]" in key and isinstance(value, str):
                name = key[len("attribute[") : key.index("]")]
                if key.endswith("[]"):  # multivaluelist: attribute[CODE][]=a&attribute[CODE][]=b
                    attributes.setdefault(name, []).append(value)  # type: ignore[union-attr]
                else:
                    attributes[name] = value
        for attribute in service.get("attributes", []) if service["metadata"] else []:
            if attribute.get("required") and attribute["code"] not in attributes:
                raise _Problem(400, f"attribute {attribute['code']!r} is required")
        now = _now().isoformat()
        record: JSON = {
            "service_request_id": None, "status": "open", "status_notes": None,
            "service_name": service["service_name"], "service_code": code,
            "description": description, "agency_responsible": service.get("agency_responsible"),
            "service_notice": service.get("service_notice"), "requested_datetime": now,
            "updated_datetime": now, "expected_datetime": None,
            "address": params.get("address_string") or None,
            "address_id": params.get("address_id") or None, "zipcode": None,
            "lat": point[0] if point else None, "long": point[1] if point else None,
            "media_url": media_url or None, "attributes": attributes,
            **{key: params.get(key) or None for key in SUBMITTED_FIELDS},
        }  # fmt: skip
        answer = {"service_notice": record["service_notice"], "account_id": record["account_id"]}
        if self.tokens or service["type"] == "batch":
            token = uuid.uuid4().hex[:12]
            self._tokens[token], self._pending[token] = None, record
            return {"token": token, **answer}
        record["service_request_id"] = request_id = str(next(self._ids))
        self.requests[request_id] = record
        if service["type"] == "blackbox":
            return answer
        return {"service_request_id": request_id, **answer}

    def _search(self, params: dict[str, str]) -> list[JSON]:
        if ids := _split(params.get("service_request_id")):
            return [self._public(self.requests[i]) for i in ids if i in self.requests]
        codes, statuses = _split(params.get("service_code")), _split(params.get("status"))
        if unknown := set(statuses) - {"open", "closed"}:
            raise _Problem(400, f"status must be open or closed, not {sorted(unknown)}")
        start, end = _when(params, "start_date"), _when(params, "end_date")
        if start and end and not timedelta(0) <= end - start <= SPAN:
            raise _Problem(400, "start_date must precede end_date by at most 90 days")
        if start and not end:
            end = start + SPAN
        end = end or _now()
        start = start or end - SPAN
        found = [
            record for record in reversed(self.requests.values())  # ties: newest first
            if (not codes or record["service_code"] in codes)
            and (not statuses or record["status"] in statuses)
            and start <= datetime.fromisoformat(record["requested_datetime"]) <= end
        ]  # fmt: skip
        found.sort(key=lambda r: datetime.fromisoformat(r["requested_datetime"]), reverse=True)
        return [self._public(record) for record in found[:MAX_RESULTS]]

    @staticmethod
    def _public(record: JSON) -> JSON:
        return {key: record.get(key) for key in PUBLIC_FIELDS}
