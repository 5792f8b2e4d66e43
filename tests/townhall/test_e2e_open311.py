"""The city's 311 system end to end: a case in a mapped category is filed as a GeoReport v2
service request with the fake Open311 server, its status comes back to every reporter and to the
card, a request the city closes resolves the case, and errors show on the card without losing
the case."""

import re
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlmodel import select

from responders.models import Case
from townhall.testing.fake_open311 import FakeOpen311
from townhall.testing.harness import (
    STAFF_ID,
    TRIAGE_CHANNEL,
    card_buttons,
    card_text,
    keyboard,
    running_townhall,
)

CITIZEN = 5580001
PIN = (41.4901, -71.3128)


def every_category_to(code: str) -> dict[str, str]:
    """Map all the city's categories to one service: the test does not depend on which category
    the classifier picks."""
    categories = yaml.safe_load(Path("config/categories.yaml").read_text())["categories"]
    return {category["id"]: code for category in categories}


def link(fake: FakeOpen311, *, api_key: str = "test-key", **extra) -> dict:
    return {
        "business_hours": {"always": True},
        "open311": {
            "endpoint": fake.endpoint,
            "api_key": api_key,
            "services": every_category_to("SIDEWALK"),
            "poll_minutes": 0.005,
            **extra,
        },
    }


def reference_in(text: str) -> str:
    found = re.search(r"TH-\d{5}", text)
    assert found, text
    return found.group(0)


async def test_a_case_is_filed_followed_and_closed_by_the_city(
    models, database_url: str, tmp_path: Path
) -> None:
    async with (
        FakeOpen311() as city,
        running_townhall(
            models,
            database_url=database_url,
            data_dir=tmp_path,
            cases=link(city),
        ) as harness,
    ):
        tg = harness.telegram
        tg.user_sends_location(*PIN, user_id=CITIZEN)
        await harness.wait_for_reply(CITIZEN)
        tg.user_sends("The paving stones outside 9 Thames St are lifting up", user_id=CITIZEN)
        reference = reference_in((await harness.wait_for_reply(CITIZEN, count=2))[-1]["text"])

        [request_id] = await harness.slack.wait_for(lambda: list(city.requests) or None)
        filed = city.requests[request_id]
        assert filed["service_code"] == "SIDEWALK"
        assert "paving stones" in filed["description"]
        assert (float(filed["lat"]), float(filed["long"])) == PIN
        posted = next(params for method, path, params in city.calls if method == "POST")
        assert posted["api_key"] == "test-key" and posted["account_id"].startswith("townhall-")
        card = await harness.wait_for_card(
            lambda c: reference in card_text(c) and request_id in card_text(c)
        )

        city.update(
            request_id,
            status="open",
            status_notes="A crew is assigned",
            expected_datetime=datetime(2026, 12, 3, 15, tzinfo=UTC),
        )
        update = (await harness.wait_for_reply(CITIZEN, count=3))[-1]
        assert reference in update["text"] and "A crew is assigned" in update["text"]
        assert "2026-12-03" in update["text"]
        await harness.wait_for_card(
            lambda c: c["ts"] == card["ts"] and "A crew is assigned" in card_text(c)
        )
        await harness.slack.wait_for(
            lambda: any(
                "311 update" in m.get("text", "")
                for m in harness.slack.thread(TRIAGE_CHANNEL, card["ts"])
            )
        )

        city.update(request_id, status="closed", status_notes="Stones relaid")
        closed = (await harness.wait_for_reply(CITIZEN, count=4))[-1]
        assert "resolved" in closed["text"] and "Stones relaid" in closed["text"]
        assert list(keyboard(closed)) == ["1", "2", "3", "4", "5"]
        await harness.wait_for_card(lambda c: c["ts"] == card["ts"] and "Resolved" in card_text(c))
        await harness.outbox_settled()
        assert len([m for m in tg.sent if m.get("chat_id") == CITIZEN]) == 4  # nothing twice


async def test_a_wrong_key_shows_on_the_card_and_the_case_is_kept(
    models, database_url: str, tmp_path: Path
) -> None:
    """The city answers 403 with the spec's error array: staff see why, the case stays."""
    async with FakeOpen311() as city, running_townhall(
        models, database_url=database_url, data_dir=tmp_path,
        cases=link(city, api_key="wrong-key"),
    ) as harness:
        harness.telegram.user_sends_location(*PIN, user_id=CITIZEN)
        await harness.wait_for_reply(CITIZEN)
        harness.telegram.user_sends(
            "The paving stones outside 9 Thames St are lifting up", user_id=CITIZEN
        )
        card = await harness.wait_for_card(lambda c: "311 system:" in card_text(c))
        assert "403" in card_text(card) and "Claim" in card_text(card)
        assert city.requests == {}


async def test_a_case_waits_for_a_location_and_outlasts_a_503(
    models, database_url: str, tmp_path: Path
) -> None:
    """No location yet: the card says so; the pin the citizen then shares files it. A 503 on the
    way is retried; a mapping to a service the city lacks is reported to staff at start."""
    services = every_category_to("SIDEWALK") | {"no-such-category": "NOPE"}
    async with FakeOpen311() as city, running_townhall(
        models,
        database_url=database_url,
        data_dir=tmp_path,
        cases=link(city, services=services),
    ) as harness:
        tg = harness.telegram
        warning = await harness.slack.wait_for(
            lambda: next(
                (m for m in harness.slack.messages(TRIAGE_CHANNEL) if "NOPE" in m["text"]), None
            )
        )
        assert "does not offer" in warning["text"]
        tg.user_sends(
            "The paving stones outside 9 Thames St are lifting up", user_id=CITIZEN + 1
        )
        card = await harness.wait_for_card(lambda c: "needs a location" in card_text(c))
        city.fail_next("requests.json", status=503)
        tg.user_sends_location(*PIN, user_id=CITIZEN + 1)
        [request_id] = await harness.slack.wait_for(lambda: list(city.requests) or None)
        await harness.wait_for_card(
            lambda c: c["ts"] == card["ts"] and f"Service request `{request_id}`" in card_text(c)
        )

        def cases(session) -> list[Case]:
            return list(session.exec(select(Case)).all())

        [case] = await harness.bot.db.run(cases)
        assert case.service_request_id == request_id and case.open311_error is None


async def test_a_request_refused_or_lost_by_the_city_is_reported_on_the_card(
    models, database_url: str, tmp_path: Path
) -> None:
    """A 400 with the spec's error array when filing, then (filed later) a 404 when reading it
    back: each shows on the card with the city's own words, and the case stays workable."""
    async with FakeOpen311() as city, running_townhall(
        models, database_url=database_url, data_dir=tmp_path, cases=link(city),
    ) as harness:
        refusal = [{"code": 400, "description": "Duplicate report of request 12345"}]
        city.fail_next("requests.json", status=400, body=refusal)
        harness.telegram.user_sends_location(*PIN, user_id=CITIZEN)
        await harness.wait_for_reply(CITIZEN)
        harness.telegram.user_sends(
            "The paving stones outside 9 Thames St are lifting up", user_id=CITIZEN
        )
        card = await harness.wait_for_card(
            lambda c: "Duplicate report of request 12345" in card_text(c)
        )
        assert city.requests == {} and "Claim" in card_text(card)

        # staff correct the category: the case is filed again, then vanishes at the city
        case_id = card_buttons(card)["case_claim"]
        await harness.slack.click(STAFF_ID, message_ts=card["ts"], action_id="case_recategorize",
                                  value=f"{case_id}:parks_trees")
        [request_id] = await harness.slack.wait_for(lambda: list(city.requests) or None)
        del city.requests[request_id]
        await harness.wait_for_card(
            lambda c: c["ts"] == card["ts"] and "was not found" in card_text(c), timeout=15
        )
