"""The Open311 client against the fake GeoReport v2 server, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from responders.open311 import Open311Client, Open311Error, Service, Submitted
from townhall.testing.fake_open311 import FakeOpen311

HERE = {"lat": 37.7652, "long": -122.4212}


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpen311]:
    async with FakeOpen311() as server:
        yield server


@pytest.fixture
async def client(fake: FakeOpen311) -> AsyncIterator[Open311Client]:
    async with Open311Client(fake.endpoint, api_key="test-key", timeout=2.0) as api:
        yield api


async def report(client: Open311Client, **fields: object) -> Submitted:
    args: dict[str, object] = {"service_code": "POTHOLE", "description": "Deep hole", **HERE}
    return await client.create_request(**{**args, **fields})  # type: ignore[arg-type]


async def test_services(client: Open311Client) -> None:
    services = await client.services()
    pothole = next(s for s in services if s.code == "POTHOLE")
    assert pothole == Service(
        code="POTHOLE", name="Pothole", description=pothole.description, metadata=False,
        type="realtime", keywords=("pothole", "road", "street", "asphalt", "hole"),
        group="Streets",
    )  # fmt: skip
    assert {s.group for s in services} == {"Streets", "Sanitation"}


async def test_create_then_get(fake: FakeOpen311, client: Open311Client) -> None:
    submitted = await report(client, account_id="acct-9", attributes={"DEPTH": "10cm"},
                             media_url="http://img.example/1.jpg")  # fmt: skip
    assert submitted.request_id and submitted.token is None and submitted.account_id == "acct-9"
    assert submitted.notice and "pothole" in submitted.notice
    method, path, sent = fake.calls[-1]
    assert (method, path) == ("POST", "requests.json")
    assert sent == {"api_key": "test-key", "service_code": "POTHOLE", "description": "Deep hole",
                    "lat": "37.7652", "long": "-122.4212", "media_url": "http://img.example/1.jpg",
                    "account_id": "acct-9", "attribute[DEPTH]": "10cm"}  # fmt: skip
    assert fake.requests[submitted.request_id]["attributes"] == {"DEPTH": "10cm"}
    request = await client.get_request(submitted.request_id)
    assert fake.calls[-1] == ("GET", f"requests/{submitted.request_id}.json", {})  # no api_key
    assert (request.id, request.status, request.status_notes) == (
        submitted.request_id,
        "open",
        None,
    )
    assert (request.service_code, request.service_name) == ("POTHOLE", "Pothole")
    assert (request.lat, request.long, request.address) == (37.7652, -122.4212, None)
    assert request.media_url == "http://img.example/1.jpg"
    assert request.agency_responsible == "Department of Public Works"
    assert request.requested_datetime is not None and request.requested_datetime.tzinfo is UTC
    assert abs(request.requested_datetime - datetime.now(UTC)) < timedelta(minutes=1)
    assert request.expected_datetime is None


async def test_update_is_read_back(fake: FakeOpen311, client: Open311Client) -> None:
    submitted = await report(client, lat=None, long=None, address="8TH AVE and JUDAH ST")
    assert submitted.request_id is not None
    fake.requests[submitted.request_id]["requested_datetime"] = "2010-04-14T06:37:38-08:00"
    fake.update(submitted.request_id, status="closed", status_notes="Filled the hole.",
                expected_datetime="2010-04-15T06:37:38-08:00")  # fmt: skip
    request = await client.get_request(submitted.request_id)
    assert (request.status, request.status_notes) == ("closed", "Filled the hole.")
    assert request.address == "8TH AVE and JUDAH ST" and request.lat is None
    assert request.requested_datetime == datetime(2010, 4, 14, 14, 37, 38, tzinfo=UTC)
    assert request.expected_datetime == datetime(2010, 4, 15, 14, 37, 38, tzinfo=UTC)
    assert request.updated_datetime is not None and request.updated_datetime.year > 2010


async def test_jurisdiction_is_sent_everywhere() -> None:
    async with (
        FakeOpen311(jurisdiction_id="city.gov") as fake,
        Open311Client(
            fake.endpoint.rstrip("/"), api_key="test-key", jurisdiction_id="city.gov"
        ) as client,
    ):
        submitted = await report(client)
        assert submitted.request_id is not None
        await client.get_request(submitted.request_id)
        assert len(await client.services()) == 5
        assert all(params["jurisdiction_id"] == "city.gov" for _, _, params in fake.calls)


async def expect_error(call: object) -> Open311Error:
    with pytest.raises(Open311Error) as caught:
        await call  # type: ignore[misc]
    return caught.value


async def test_bad_api_key_is_permanent(fake: FakeOpen311) -> None:
    async with Open311Client(fake.endpoint, api_key="stolen") as client:
        error = await expect_error(report(client))
    assert (error.status, error.code, error.permanent) == (403, 403, True)
    assert error.description == "api_key is missing or invalid: cannot create the request"
    assert error.retry_after is None and "HTTP 403" in str(error)


async def test_unknown_id_and_service_code_are_permanent(client: Open311Client) -> None:
    missing = await expect_error(client.get_request("424242"))
    assert (missing.status, missing.permanent) == (404, True)
    assert "'424242' was not found" in missing.description
    escaped = await expect_error(client.get_request("../services"))  # quoted, never services.json
    assert escaped.status == 404
    bad_code = await expect_error(report(client, service_code="UFO"))
    assert (bad_code.status, bad_code.code, bad_code.permanent) == (404, 404, True)
    assert bad_code.description == "service_code 'UFO' was not found"


async def test_server_trouble_is_transient(fake: FakeOpen311, client: Open311Client) -> None:
    fake.fail_next("services.json", status=503)
    unavailable = await expect_error(client.services())
    assert (unavailable.status, unavailable.permanent, unavailable.retry_after) == (
        503,
        False,
        None,
    )
    fake.fail_next("requests.json", status=429, retry_after=7)
    limited = await expect_error(report(client))
    assert (limited.status, limited.permanent, limited.retry_after) == (429, False, 7.0)
    fake.fail_next(status=503, retry_after=0.5)
    assert (await expect_error(client.services())).retry_after == 0.5
    assert len(await client.services()) == 5  # the faults were used up


async def test_timeout_and_refused_connection(fake: FakeOpen311) -> None:
    fake.delay_next(5)
    started = time.monotonic()
    async with Open311Client(fake.endpoint, timeout=0.2) as client:
        error = await expect_error(client.services())
    assert time.monotonic() - started < 2
    assert (error.status, error.permanent) == (0, False) and "timed out" in error.description
    endpoint = fake.endpoint
    await fake.stop()
    async with Open311Client(endpoint) as client:
        refused = await expect_error(client.services())
    assert (refused.status, refused.permanent) == (0, False)


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (200, "<html>Scheduled maintenance</html>", "non-JSON body: HTTP 200 OK: <html>Sched"),
        (200, [1, 2], "expected a list of objects, got list"),
        (200, [{"service_name": "no code"}], "service_code is missing"),
        (200, [{"service_code": "A", "service_name": "A", "metadata": "maybe"}], "boolean"),
        (502, "<html>Bad Gateway</html>", "HTTP 502 Bad Gateway: <html>Bad Gateway</html>"),
        (500, "", "(empty body)"),
        (
            400,
            [{"code": "E1", "description": "one"}, {"code": 2, "description": "two"}],
            "one; two",
        ),
    ],
)
async def test_unexpected_bodies_become_open311_errors(
    fake: FakeOpen311, client: Open311Client, status: int, body: object, says: str
) -> None:
    fake.fail_next("services.json", status=status, body=body)
    error = await expect_error(client.services())
    assert error.status == status and says in error.description
    assert error.permanent is (status == 400)


async def test_garbage_in_a_request_row(fake: FakeOpen311, client: Open311Client) -> None:
    row = {"service_request_id": 7, "status": "open", "requested_datetime": "last tuesday"}
    fake.fail_next("requests/7.json", status=200, body=[row])
    error = await expect_error(client.get_request("7"))
    assert "not an ISO 8601 datetime" in error.description
    fake.fail_next("requests/7.json", status=200, body=[])
    assert (await expect_error(client.get_request("7"))).status == 404


async def test_numbers_from_the_spec_examples_become_strings(
    fake: FakeOpen311, client: Open311Client
) -> None:
    row = {"service_request_id": 638344, "status": "Closed", "service_code": 6,
           "lat": "37.762221815", "long": -122.4651145, "description": None,
           "requested_datetime": "2010-04-14T06:37:38Z", "media_url": ""}  # fmt: skip
    fake.fail_next("requests/638344.json", status=200, body=[row])
    request = await client.get_request("638344")
    assert (request.id, request.status, request.service_code) == ("638344", "closed", "6")
    assert (request.lat, request.description, request.media_url) == (37.762221815, "", None)
    fake.fail_next("requests.json", status=200, body=[{"service_request_id": 293944}])
    assert await report(client) == Submitted(request_id="293944")


async def test_token_flow() -> None:
    async with (
        FakeOpen311(tokens=True) as fake,
        Open311Client(fake.endpoint, api_key="test-key") as client,
    ):
        submitted = await report(client)
        assert submitted.request_id is None and submitted.token
        assert await client.request_id_for_token(submitted.token) is None
        [assigned] = fake.assign_tokens()
        assert await client.request_id_for_token(submitted.token) == assigned
        assert (await client.get_request(assigned)).status == "open"
        unknown = await expect_error(client.request_id_for_token("nope"))
        assert (unknown.status, unknown.permanent) == (404, True)


async def test_invalid_reports_are_refused_before_sending(
    fake: FakeOpen311, client: Open311Client
) -> None:
    for fields in (
        {"lat": None, "long": None},
        {"long": None},
        {"lat": 91.0},
        {"service_code": ""},
        {"description": "x" * 4001},
    ):
        with pytest.raises(ValueError):
            await report(client, **fields)
    with pytest.raises(ValueError):
        await client.get_request("")
    assert fake.calls == []
    with pytest.raises(ValueError):
        Open311Client("311.city.gov/open311/v2/")
