"""The demo's case-lifecycle story: two residents report the same broken bench and become one
case's reporters, staff resolve it with one reply, a rating comes back; a lifted pavement is
filed with the city's 311 system (a local fake Open311 server) and its status comes back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from townhall.testing.harness import STAFF_ID, card_buttons, card_text, keyboard

if TYPE_CHECKING:
    from townhall.demo import Story
    from townhall.testing.fake_open311 import FakeOpen311

ELM = (41.49010, -71.31280)
NEAR_ELM = (41.49015, -71.31290)
THAMES = (41.48650, -71.31420)


async def play_duplicates(story: Story) -> None:
    from townhall.demo import CITIZENS, console

    h = story.h
    ana, bruno = CITIZENS["Ana"], CITIZENS["Bruno"]
    console.print("[bold cyan]Ana (Telegram)[/] shares a location pin")
    h.telegram.user_sends_location(*ELM, **ana)
    await story.bot_replies(ana["user_id"])
    await story.citizen("Ana", "The bench at the Elm Road bus stop is broken and has sharp "
                               "metal sticking out")
    await story.citizen("Bruno", "/language es")
    console.print("[bold cyan]Bruno (Telegram)[/] shares a location pin 10 m away")
    h.telegram.user_sends_location(*NEAR_ELM, **bruno)
    await story.bot_replies(bruno["user_id"])
    await story.citizen("Bruno", "Broken bench at the Elm Road bus stop, sharp metal is "
                                 "sticking out of it")
    card = await story.card(lambda c: "2 reporters" in card_text(c), "one case, two reporters",
                            show=True)

    await story.staff_clicks(card, "case_reply")
    await h.slack.wait_for(lambda: h.slack.views, timeout=10)
    reply = "Parks removed the bench this morning; a new one is ordered."
    console.print(f"[bold yellow]Sam (staff, Slack)[/] replies and resolves: {reply}")
    await h.slack.submit_view(STAFF_ID, values={"reply": {"text": reply},
                                                "then": {"then": "resolve"}})
    [resolution] = await story.bot_replies(ana["user_id"])
    await story.bot_replies(bruno["user_id"])
    console.print("[bold cyan]Ana (Telegram)[/] taps 5")
    h.telegram.user_presses(keyboard(resolution)["5"], message=resolution, **ana)
    await story.bot_replies(ana["user_id"])
    await story.card(lambda c: c["ts"] == card["ts"] and "5/5" in card_text(c),
                     "card shows the rating")


async def play_open311(story: Story, city: FakeOpen311) -> None:
    from townhall.demo import CITIZENS, console

    h = story.h
    carla = CITIZENS["Carla"]
    console.print("[bold cyan]Carla (Telegram)[/] shares a location pin")
    h.telegram.user_sends_location(*THAMES, **carla)
    await story.bot_replies(carla["user_id"])
    await story.citizen("Carla", "The paving stones outside 9 Thames St are lifting up")
    request_id = await h.slack.wait_for(lambda: next(iter(city.requests), None), timeout=30)
    console.print(f"[bold blue]City 311 system (Open311)[/] received service request "
                  f"{request_id}: {city.requests[request_id]['service_code']}")
    card = await story.card(lambda c: f"`{request_id}`" in card_text(c),
                            "card shows the 311 request")
    await story.staff_clicks(card, "case_claim")
    await story.bot_replies(carla["user_id"])
    expected = datetime.now(UTC) + timedelta(days=3)
    console.print("[bold blue]City 311 system[/] a crew is assigned")
    city.update(request_id, status="open", status_notes="A crew is assigned.",
                expected_datetime=expected)
    await story.bot_replies(carla["user_id"])
    console.print("[bold blue]City 311 system[/] the request is closed")
    city.update(request_id, status="closed", status_notes="Paving stones relaid.")
    await story.bot_replies(carla["user_id"])
    await story.card(lambda c: c["ts"] == card["ts"] and "Resolved" in card_text(c),
                     "card updated")
    assert card_buttons(card)  # the card had its actions while open


def open311_settings(city: FakeOpen311) -> dict:
    """The demo city files road and sidewalk cases with its 311 system."""
    return {
        "open311": {"endpoint": city.endpoint, "api_key": city.api_key,
                    "services": {"roads_potholes": "SIDEWALK"}, "poll_minutes": 0.01},
    }
