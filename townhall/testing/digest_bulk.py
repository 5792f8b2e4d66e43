"""A large synthetic fortnight for `townhall bench digest`: a busy city's messages, cases, FAQ
feedback and alerts, written with SQLAlchemy core executemany in chunks (no ORM objects).

Rows go in time order, as a real inbox fills, and look like the stored ones (the event JSON, the
classification JSON with its scores), because the cost of reading a table depends on how wide
its rows are. Texts are varied from templates so that quotes have distinct texts to choose from.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from listening.digest_weeks import Week
from listening.models import Citizen, Conversation, Message
from listening.trend_tables import Alert, Topic
from responders.faq_store import FaqFeedback
from responders.models import Case
from townhall.testing.digest_data import case_row, message_row, table_of

SENTIMENTS = ("negative", "neutral", "positive")
CATEGORY_WEIGHTS = {
    "roads_potholes": 16, "waste_recycling": 14, "parking": 11, "transit": 10, "noise": 8,
    "street_lights": 7, "water_sewer": 7, "parks_trees": 6, "taxes_bills": 6,
    "permits_licences": 5, "public_safety": 4, "praise": 3, "other": 3,
}
# the week before differs, so that "change vs previous week" has something to show
PREVIOUS_WEIGHTS = CATEGORY_WEIGHTS | {"roads_potholes": 10, "noise": 11, "transit": 12}
STREETS = ("Elm Street", "Oak Avenue", "King St", "Harbor Rd", "Maple Street", "3rd and Pine",
           "River Road", "Cedar Lane", "the market square", "Birch Court", "Station Road")
TEMPLATES = {
    "roads_potholes": (
        "There is a huge pothole on {street} near number {n}, two cars damaged a tyre already",
        "The road surface on {street} is breaking up again, when will it be repaired?",
        "Sinkhole opening near {street} {n}, please send someone before someone gets hurt",
    ),
    "waste_recycling": (
        "Garbage was not collected on {street} this week, bins have been out for {n} days",
        "Someone dumped old furniture and {n} bags of rubbish behind {street}",
        "My recycling cart was crushed by the truck on {street}, how do I get a new one?",
    ),
    "parking": (
        "Got a parking ticket on {street} even though the meter was broken, ref {n}",
        "Cars park on the sidewalk on {street} every evening, nobody can get through",
    ),
    "transit": (
        "Bus {n} skipped the {street} stop three times this morning",
        "The tram shelter on {street} has been smashed for {n} days",
    ),
    "noise": ("Construction noise on {street} starts at {n} am every day, is that allowed?",
              "Loud music from a bar on {street} until 3 am, call me on 555-013-{n:04d}"),
    "street_lights": ("Street light outside {street} {n} has been out for two weeks",),
    "water_sewer": ("Water leaking from the road on {street} near number {n}",),
    "parks_trees": ("A big branch fell in the park by {street}, path blocked since day {n}",),
    "taxes_bills": ("My water bill doubled this quarter, account {n}, write to me at "
                    "someone{n}@example.com",),
    "permits_licences": ("How long does a building permit for {street} take? applied {n} "
                         "days ago",),
    "public_safety": ("Broken glass all over the playground near {street}, kids play there",),
    "praise": ("Thank you for fixing the lights on {street} so quickly, great job team {n}",),
    "other": ("Question about the city festival on {street}, is it still on day {n}?",),
}
DAY_WEIGHTS = (1.0, 1.15, 1.25, 1.1, 0.95, 0.6, 0.55)
HOUR_WEIGHTS = tuple(0.2 if h < 7 else 1.6 if 8 <= h <= 10 or 17 <= h <= 20 else 1.0
                     for h in range(24))
CHUNK = 10_000
Progress = Callable[[int], None]


def text_for(category: str, rng: random.Random) -> str:
    template = rng.choice(TEMPLATES.get(category, TEMPLATES["other"]))
    return template.format(street=rng.choice(STREETS), n=rng.randrange(1, 400))


def _times(week: Week, count: int, rng: random.Random) -> Iterator[datetime]:
    """`count` instants in time order, busier on weekdays and at rush hours."""
    per_day = [0] * 7
    for day in rng.choices(range(7), weights=DAY_WEIGHTS, k=count):
        per_day[day] += 1
    for day in range(7):
        hours = rng.choices(range(24), weights=HOUR_WEIGHTS, k=per_day[day])
        for second in sorted(h * 3600 + rng.random() * 3600 for h in hours):
            yield week.bounds[day] + timedelta(seconds=second)


def _case(rng: random.Random, row: dict[str, Any], message_id: int) -> dict[str, Any]:
    sent_at = row["sent_at"]
    answered = sent_at + timedelta(hours=rng.lognormvariate(1.0, 1.0))
    resolved = answered + timedelta(hours=rng.lognormvariate(2.5, 1.0))
    return case_row(
        citizen_id=row["citizen_id"], conversation_id=row["conversation_id"],
        message_id=message_id, channel=row["channel"], created_at=sent_at + timedelta(seconds=2),
        first_response_at=answered if rng.random() < 0.9 else None,
        resolved_at=resolved if rng.random() < 0.7 else None, category=row["category"],
        summary=row["text"],
    )


def generate_week(
    engine: Engine, week: Week, count: int, *, first_id: int, citizens: int,
    weights: dict[str, float] | None = None, seed: int = 1, progress: Progress | None = None,
) -> int:
    """Write `count` messages sent during `week`, with their cases and FAQ feedback, ids from
    `first_id`, from citizens 1..`citizens` (which must exist); returns the next free id.

    Shape: 55% Telegram / 45% X; about a third are public posts (mostly X); of the citizen
    messages 30% are answered by the FAQ (a third of those rated) and 8% become cases.
    """
    rng = random.Random(seed)
    weights = weights or CATEGORY_WEIGHTS
    categories, category_weights = list(weights), list(weights.values())
    rows: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    feedback: list[dict[str, Any]] = []

    def flush() -> None:
        with engine.begin() as connection:
            connection.execute(insert(table_of(Message)), rows)
            if cases:
                connection.execute(insert(table_of(Case)), cases)
            if feedback:
                connection.execute(insert(table_of(FaqFeedback)), feedback)
        if progress is not None:
            progress(len(rows))
        rows.clear()
        cases.clear()
        feedback.clear()

    message_id = first_id
    for sent_at in _times(week, count, rng):
        channel = "telegram" if rng.random() < 0.55 else "x"
        public = rng.random() < (0.15 if channel == "telegram" else 0.6)
        category = rng.choices(categories, weights=category_weights)[0]
        mood = (1, 2, 7) if category == "praise" else (5, 4, 1)
        roll = rng.random()
        responder = None if public else "faq" if roll < 0.3 else "escalation" if roll < 0.38 \
            else None
        citizen = rng.randrange(1, citizens + 1)
        row = message_row(
            citizen_id=citizen, conversation_id=citizen, channel=channel,
            external_id=f"b{message_id}", sent_at=sent_at, text=text_for(category, rng),
            kind="listening" if public else "message", category=category,
            sentiment=rng.choices(SENTIMENTS, weights=mood)[0], responder=responder,
            score=round(rng.uniform(0.3, 0.95), 4), abusive=rng.random() < 0.01,
        )
        row["id"] = message_id
        rows.append(row)
        if responder == "escalation":
            cases.append(_case(rng, row, message_id))
        elif responder == "faq" and rng.random() < 0.33:
            feedback.append({"entry_id": "garbage-day", "citizen_id": citizen,
                             "message_id": message_id, "helpful": rng.random() < 0.75,
                             "created_at": sent_at + timedelta(minutes=2)})
        message_id += 1
        if len(rows) >= CHUNK:
            flush()
    if rows:
        flush()
    return message_id


def generate_citizens(engine: Engine, count: int) -> None:
    """Citizens 1..count, each with one conversation of the same id."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for start in range(1, count + 1, CHUNK):
        ids = range(start, min(count + 1, start + CHUNK))
        with engine.begin() as connection:
            connection.execute(insert(table_of(Citizen)), [
                {"id": i, "channel": "telegram", "pseudonym": f"bench{i}", "created_at": now,
                 "last_seen_at": now} for i in ids])
            connection.execute(insert(table_of(Conversation)), [
                {"id": i, "citizen_id": i, "channel": "telegram", "chat_key": f"telegram:{i}:",
                 "address": {"channel": "telegram", "chat_id": str(i)}, "created_at": now,
                 "last_message_at": now} for i in ids])


def generate_alerts(engine: Engine, week: Week) -> None:
    """A few emerging issues during the week, one of them dismissed by staff."""
    labels = (("Flooding on River Road", "water_sewer", "open"),
              ("Bus 12 not running", "transit", "tracking"),
              ("Power cut downtown", "other", "closed"),
              ("Spam about free tickets", "other", "dismissed"))
    with engine.begin() as connection:
        for index, (label, category, status) in enumerate(labels):
            at = week.bounds[index + 1] + timedelta(hours=9)
            topic = connection.execute(insert(table_of(Topic)).returning(table_of(Topic).c.id), {
                "centroid": b"\0" * 8, "size": 50, "status": "active", "created_at": at,
                "last_message_at": at}).scalar_one()
            connection.execute(insert(table_of(Alert)), {
                "topic_id": topic, "status": status, "label": label, "messages": 120 - 20 * index,
                "citizens": 80 - 10 * index, "growth": 6.5 - index, "channels": {"telegram": 70,
                                                                                "x": 50},
                "category": category, "sentiment": "negative",
                "examples": [f"{label}: call 555-0100-{index}", "please help"],
                "first_alert_at": at, "updated_at": at + timedelta(hours=5)})


def generate_fortnight(
    engine: Engine, week: Week, messages: int, previous: int, progress: Progress | None = None
) -> None:
    """`previous` messages the week before `week`, `messages` during it, and their rows."""
    citizens = max(1, (messages + previous) // 20)
    generate_citizens(engine, citizens)
    next_id = generate_week(engine, week.previous(), previous, first_id=1, citizens=citizens,
                            weights=PREVIOUS_WEIGHTS, seed=7, progress=progress)
    generate_week(engine, week, messages, first_id=next_id, citizens=citizens, seed=8,
                  progress=progress)
    generate_alerts(engine, week)
