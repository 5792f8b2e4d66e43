"""Emerging issues end to end: citizens write on Telegram, the trends job raises an alert card
in Slack, and staff act on it through the card's buttons (bolt, signed requests)."""

from pathlib import Path

from sqlmodel import select

from listening.trend_tables import Alert, MessageVector, Topic
from townhall.testing.harness import (
    OUTSIDER_ID,
    STAFF_ID,
    Harness,
    card_buttons,
    card_text,
    running_townhall,
)

REPORTS = [
    "Water main break on Elm Street, the road is flooded",
    "The water main on Elm Street burst and the street is flooding",
    "Elm Street is flooded, a water main broke this morning",
    "Big water main break at Elm Street, water everywhere on the road",
    "water main burst on elm street!! road flooded",
    "Is anyone fixing the water main break on Elm Street? It is flooding",
    "Elm street water main broke, flooding the road near the school",
    "Flooding on Elm Street from a broken water main",
]


def _title(card: dict) -> str:
    return card["blocks"][0]["text"]["text"]


async def _alert(harness: Harness) -> Alert:
    def first(session) -> Alert:
        return session.exec(select(Alert)).one()

    return await harness.bot.db.run(first)


async def test_a_burst_of_reports_raises_an_alert_staff_can_dismiss(harness: Harness) -> None:
    for k, text in enumerate(REPORTS):
        harness.telegram.user_sends(text, user_id=7100 + k)
    for k in range(len(REPORTS)):
        await harness.wait_for_reply(7100 + k, timeout=20)

    report = await harness.bot.trends.run()
    assert len(report.raised) == 1
    card = await harness.wait_for_card(lambda c: "Emerging issue" in card_text(c))
    text = card_text(card)
    assert "elm" in text.lower() and "water" in text.lower()
    assert "8 messages" in text and "telegram 8" in text
    buttons = card_buttons(card)
    assert set(buttons) == {"alert_track", "alert_dismiss"}

    # a second run while nothing new arrived: no second alert
    again = await harness.bot.trends.run()
    assert again.raised == []

    await harness.slack.click(
        OUTSIDER_ID, message_ts=card["ts"], action_id="alert_dismiss",
        value=buttons["alert_dismiss"],
    )
    assert (await _alert(harness)).status == "open"

    await harness.slack.click(
        STAFF_ID, message_ts=card["ts"], action_id="alert_dismiss",
        value=buttons["alert_dismiss"],
    )
    updated = await harness.wait_for_card(
        lambda c: c["ts"] == card["ts"] and _title(c).startswith("Not an issue")
    )
    assert card_buttons(updated) == {}
    assert f"<@{STAFF_ID}>" in card_text(updated)
    alert = await _alert(harness)
    assert alert.status == "dismissed" and alert.decided_by == STAFF_ID
    topic = await harness.bot.db.run(lambda s: s.get(Topic, alert.topic_id))
    assert topic.status == "dismissed"


async def test_with_the_trends_job_off_no_vectors_are_kept(
    models, database_url: str, tmp_path: Path
) -> None:
    async with running_townhall(
        models, database_url=database_url, data_dir=tmp_path, trends={"enabled": False}
    ) as harness:
        harness.telegram.user_sends(REPORTS[0], user_id=7200)
        await harness.wait_for_reply(7200, timeout=20)
        vectors = await harness.bot.db.run(lambda s: s.exec(select(MessageVector)).all())
        assert vectors == []
        assert not [job for job in harness.bot.scheduler.get_jobs()
                    if getattr(job.func, "__name__", "") == "run"
                    and getattr(job.func, "__self__", None) is harness.bot.trends]
