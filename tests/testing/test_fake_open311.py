"""The fake Open311 GeoReport v2 server answers as the spec says, checked with raw HTTP calls."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from townhall.testing.fake_open311 import PUBLIC_FIELDS, SERVICE_FIELDS, FakeOpen311

SPOT = {"lat": "37.7652", "long": "-122.4212"}
POTHOLE = {"api_key": "test-key", "service_code": "POTHOLE", "description": "Deep hole", **SPOT}
CAN_DEFINITION = {
    "service_code": "CANS", "service_name": "Cans left out", "metadata": True,
    "keywords": ["cans", "bins"], "group": "Sanitation",
    "attributes": [{
        "variable": True, "code": "BIN", "datatype": "singlevaluelist", "required": True,
        "datatype_description": None, "order": 1, "description": "Which bin?",
        "values": [{"key": "T", "name": "Trash"}, {"key": "R", "name": "Recycling"}],
    }],
}  # fmt: skip


@pytest.fixture
async def server() -> AsyncIterator[FakeOpen311]:
    async with FakeOpen311() as fake:
        yield fake


@pytest.fixture
async def http(server: FakeOpen311) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.endpoint) as client:
        yield client


async def create(http: httpx.AsyncClient, **fields: str) -> httpx.Response:
    return await http.post("requests.json", data={**POTHOLE, **fields})


async def test_service_list_has_the_spec_fields(http: httpx.AsyncClient) -> None:
    answer = await http.get("services.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    services = answer.json()
    assert 4 <= len(services) <= 5
    for service in services:
        assert tuple(service) == SERVICE_FIELDS  # nothing private (notice, agency) leaks out
        assert service["metadata"] is False and service["type"] == "realtime"
        assert isinstance(service["keywords"], str) and "," in service["keywords"]
        assert service["group"] and service["service_name"]


async def test_service_definition_only_for_services_with_metadata() -> None:
    async with (
        FakeOpen311(services=[CAN_DEFINITION, {"service_code": "X", "service_name": "X"}]) as fake,
        httpx.AsyncClient(base_url=fake.endpoint) as http,
    ):
        listed = (await http.get("services.json")).json()
        assert listed[0]["keywords"] == "cans, bins" and listed[1]["metadata"] is False
        definition = (await http.get("services/CANS.json")).json()
        assert definition == {"service_code": "CANS", "attributes": CAN_DEFINITION["attributes"]}
        for code in ("X", "NOPE"):
            missing = await http.get(f"services/{code}.json")
            assert missing.status_code == 404 and missing.json()[0]["code"] == 404
        form = {**POTHOLE, "service_code": "CANS"}
        refused = await http.post("requests.json", data=form)
        assert refused.status_code == 400 and "BIN" in refused.json()[0]["description"]
        ok = await http.post("requests.json", data={**form, "attribute[BIN]": "T"})
        assert ok.status_code == 200
        assert fake.requests[ok.json()[0]["service_request_id"]]["attributes"] == {"BIN": "T"}


async def test_post_answers_an_id_and_get_shows_the_request(
    server: FakeOpen311, http: httpx.AsyncClient
) -> None:
    posted = await create(http, account_id="acct-9", email="dana@example.org")
    assert posted.status_code == 200
    [answer] = posted.json()
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    request_id = answer["service_request_id"]
    assert isinstance(request_id, str) and request_id.isdigit()
    assert answer["account_id"] == "acct-9" and "pothole" in answer["service_notice"]
    stored = server.requests[request_id]
    assert stored["email"] == "dana@example.org" and stored["lat"] == 37.7652
    sent = {**POTHOLE, "account_id": "acct-9", "email": "dana@example.org"}
    assert server.calls[-1] == ("POST", "requests.json", sent)
    [row] = (await http.get(f"requests/{request_id}.json")).json()
    assert tuple(row) == PUBLIC_FIELDS
    assert row["status"] == "open" and row["service_name"] == "Pothole"
    assert row["agency_responsible"] == "Department of Public Works"
    requested = datetime.fromisoformat(row["requested_datetime"])
    assert requested.utcoffset() is not None
    assert abs(requested - datetime.now(UTC)) < timedelta(minutes=1)
    assert row["requested_datetime"] == row["updated_datetime"]


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"api_key": "wrong"}, 403, "api_key"),
        ({"api_key": ""}, 403, "api_key"),
        ({"service_code": ""}, 400, "service_code was not provided"),
        ({"service_code": "UFO"}, 404, "'UFO' was not found"),
        ({"lat": "", "long": ""}, 400, "location is required"),
        ({"long": ""}, 400, "together"),
        ({"lat": "north"}, 400, "degrees"),
        ({"lat": "91"}, 400, "out of range"),
        ({"description": " "}, 400, "description or a media_url"),
        ({"description": "x" * 4001}, 400, "4000"),
    ],
)
async def test_post_is_validated_per_spec(
    http: httpx.AsyncClient, server: FakeOpen311, fields: dict[str, str], status: int, says: str
) -> None:
    answer = await create(http, **fields)
    assert answer.status_code == status
    [error] = answer.json()
    assert error["code"] == status and says in error["description"]
    assert server.requests == {}


async def test_post_alternatives_media_only_and_address_only(http: httpx.AsyncClient) -> None:
    media = await create(http, description="", media_url="http://img.example/1.jpg")
    assert media.status_code == 200
    address = await http.post("requests.json", data={
        "api_key": "test-key", "service_code": "GRAFFITI", "description": "Tag on the bridge",
        "address_string": "8TH AVE and JUDAH ST"})  # fmt: skip
    [answer] = address.json()
    [row] = (await http.get(f"requests/{answer['service_request_id']}.json")).json()
    assert row["address"] == "8TH AVE and JUDAH ST" and row["lat"] is None


async def test_post_must_be_form_encoded(http: httpx.AsyncClient) -> None:
    answer = await http.post("requests.json", json=POTHOLE)
    assert answer.status_code == 400 and "x-www-form-urlencoded" in answer.json()[0]["description"]


async def test_only_json_and_known_resources(http: httpx.AsyncClient) -> None:
    for path, status, says in [
        ("services.xml", 400, "only JSON"),
        ("services", 400, "only .json"),
        ("requests/123.json", 404, "'123' was not found"),
        ("nothing.json", 404, "no resource"),
        ("tokens/abc.json", 404, "'abc' was not found"),
    ]:
        answer = await http.get(path)
        assert answer.status_code == status, path
        assert says in answer.json()[0]["description"], path
    wrong = await http.delete("services.json")
    assert wrong.status_code == 405


async def test_jurisdiction_is_required_when_the_fake_has_one() -> None:
    async with (
        FakeOpen311(jurisdiction_id="city.gov") as fake,
        httpx.AsyncClient(base_url=fake.endpoint) as http,
    ):
        assert (await http.get("services.json")).status_code == 400
        other = await http.get("services.json", params={"jurisdiction_id": "elsewhere.gov"})
        assert other.status_code == 404 and "elsewhere.gov" in other.json()[0]["description"]
        assert (await http.get("services.json?jurisdiction_id=city.gov")).status_code == 200
        assert (await create(http)).status_code == 400
        assert (await create(http, jurisdiction_id="city.gov")).status_code == 200


async def test_search_filters_per_spec(server: FakeOpen311, http: httpx.AsyncClient) -> None:
    ids = [(await create(http, service_code=code)).json()[0]["service_request_id"]
           for code in ("POTHOLE", "GRAFFITI", "POTHOLE")]  # fmt: skip
    server.update(ids[0], status="closed")
    server.requests[ids[2]]["requested_datetime"] = "2010-04-14T06:37:38-08:00"

    async def search(**params: str) -> list[str]:
        answer = await http.get("requests.json", params=params)
        assert answer.status_code == 200, answer.text
        return [row["service_request_id"] for row in answer.json()]

    assert await search() == [ids[1], ids[0]]  # the last 90 days, newest first (same second)
    assert await search(service_request_id=f"{ids[2]},999,{ids[0]}") == [ids[2], ids[0]]
    assert await search(status="open") == [ids[1]]
    assert await search(status="open,closed", service_code="POTHOLE") == [ids[0]]
    old = {"start_date": "2010-04-01T00:00:00Z", "end_date": "2010-05-01T00:00:00Z"}
    assert await search(**old) == [ids[2]]
    assert await search(start_date="2010-04-01T00:00:00Z") == [ids[2]]
    too_long = {"start_date": "2010-01-01T00:00:00Z", "end_date": "2010-06-01T00:00:00Z"}
    naive = {"start_date": "2010-01-01T00:00:00"}
    for bad in ({"status": "pending"}, {"start_date": "yesterday"}, naive, too_long):
        assert (await http.get("requests.json", params=bad)).status_code == 400, bad


async def test_update_changes_what_get_shows(server: FakeOpen311, http: httpx.AsyncClient) -> None:
    [answer] = (await create(http)).json()
    request_id = answer["service_request_id"]
    server.requests[request_id]["updated_datetime"] = "2010-04-14T06:37:38-08:00"
    expected = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    server.update(request_id, status="closed", status_notes="Filled.",
                  expected_datetime=expected, agency_responsible="Streets crew 4")  # fmt: skip
    [row] = (await http.get(f"requests/{request_id}.json")).json()
    assert (row["status"], row["status_notes"]) == ("closed", "Filled.")
    assert row["agency_responsible"] == "Streets crew 4"
    assert row["expected_datetime"] == "2030-01-01T19:04:05-08:00"
    assert row["updated_datetime"] > "2010"
    with pytest.raises(ValueError):
        server.update(request_id, status="pending")


async def test_tokens_until_assigned() -> None:
    async with (
        FakeOpen311(tokens=True) as fake,
        httpx.AsyncClient(base_url=fake.endpoint) as http,
    ):
        [answer] = (await create(http)).json()
        assert "service_request_id" not in answer and answer["token"]
        token = answer["token"]
        assert (await http.get(f"tokens/{token}.json")).json() == [
            {"token": token, "service_request_id": None}
        ]
        assert fake.requests == {} and (await http.get("requests.json")).json() == []
        [request_id] = fake.assign_tokens()
        [row] = (await http.get(f"tokens/{token}.json")).json()
        assert row == {"token": token, "service_request_id": request_id}
        assert (await http.get(f"requests/{request_id}.json")).status_code == 200


async def test_batch_and_blackbox_service_types() -> None:
    services = [{"service_code": "B", "service_name": "Batch", "type": "batch"},
                {"service_code": "K", "service_name": "Blackbox", "type": "blackbox"}]  # fmt: skip
    async with (
        FakeOpen311(services=services) as fake,
        httpx.AsyncClient(base_url=fake.endpoint) as http,
    ):
        assert "token" in (await create(http, service_code="B")).json()[0]
        [blackbox] = (await create(http, service_code="K")).json()
        assert "token" not in blackbox and "service_request_id" not in blackbox
        assert len(fake.requests) == 1  # the city keeps it; the caller just never learns the id


async def test_fault_injection(server: FakeOpen311, http: httpx.AsyncClient) -> None:
    server.fail_next("requests.json", status=429, times=2, retry_after=7)
    assert (await http.get("services.json")).status_code == 200  # other paths are untouched
    for _ in range(2):
        limited = await create(http)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
        assert limited.json() == [{"code": 429, "description": "injected failure 429"}]
    assert (await create(http)).status_code == 200
    server.fail_next(None, status=200, body="<html>maintenance</html>")
    garbage = await http.get("services.json")
    assert garbage.status_code == 200 and garbage.text == "<html>maintenance</html>"
    server.fail_next(status=502, body={"unexpected": True})
    assert (await http.get("services.json")).json() == {"unexpected": True}
    server.delay_next(0.3)
    started = time.monotonic()
    assert (await http.get("services.json")).status_code == 200
    assert time.monotonic() - started >= 0.3
    assert [method for method, _, _ in server.calls].count("POST") == 3
