"""`townhall demo`: the whole bot against local fakes of Telegram, Slack and X, with a story.

Everything real but the platforms: the SDKs, HTTP on 127.0.0.1, the SQLite database, the models.
Citizens write on (fake) Telegram; a staff member works the case from the (fake) Slack card; a
citizen mentions the city on (fake) X and public posts are heard by keyword listening. The
transcript is printed as it happens.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from listening.digest_weeks import week_label_of
from listening.models import Message
from responders.models import Case
from townhall.demo_cases import open311_settings, play_duplicates, play_open311
from townhall.models import Models
from townhall.testing.fake_open311 import FakeOpen311
from townhall.testing.harness import (
    STAFF_ID,
    TRIAGE_CHANNEL,
    Harness,
    card_buttons,
    card_text,
    keyboard,
    running_townhall,
)

console = Console()

CITIZENS = {
    "Ana": {"user_id": 7001, "first_name": "Ana", "language_code": "en"},
    "Bruno": {"user_id": 7002, "first_name": "Bruno", "language_code": "es"},
    "Carla": {"user_id": 7003, "first_name": "Carla", "language_code": "en"},
}


class Story:
    """Drives the fakes like people would, and prints what each side sees."""

    def __init__(self, harness: Harness):
        self.h = harness
        self.replies_seen: dict[int, int] = {}
        self.faq_round_trips: list[float] = []
        self.x_round_trip_ms = 0.0
        self.listened = 0
        self.citizen_messages = 0
        self.alerts = 0
        self.polls = 0
        self.digest: Path | None = None
        self.cases = 0

    async def citizen(self, name: str, text: str, *, expect: int = 1) -> list[dict[str, Any]]:
        who = CITIZENS[name]
        chat = int(who["user_id"])
        console.print(f"[bold cyan]{name} (Telegram)[/] → {text}")
        started = time.perf_counter()
        self.citizen_messages += 1
        self.h.telegram.user_sends(text, **who)
        replies = await self.bot_replies(chat, expect)
        if replies and not replies[0]["text"].startswith(("Thanks,", "Gracias")):
            self.faq_round_trips.append((time.perf_counter() - started) * 1000)
        return replies

    async def bot_replies(self, chat: int, expect: int = 1) -> list[dict[str, Any]]:
        seen = self.replies_seen.get(chat, 0)
        sent = await self.h.wait_for_reply(chat, count=seen + expect, timeout=30)
        self.replies_seen[chat] = len(sent)
        new = sent[seen:]
        for message in new:
            console.print(Panel(message["text"], title="Townhall → citizen", border_style="green",
                                expand=False))
        return new

    async def card(self, predicate, label: str, *, show: bool = False) -> dict[str, Any]:
        card = await self.h.wait_for_card(predicate, timeout=30)
        text = card_text(card)
        title = text.splitlines()[0] if text else "card"
        console.print(f"[bold magenta]Slack #{TRIAGE_CHANNEL}[/] {label}: [italic]{title}[/]")
        if show:
            labels = [
                element["text"]["text"]
                for block in card.get("blocks", []) if block.get("type") == "actions"
                for element in block.get("elements", []) if element.get("type") == "button"
            ]
            buttons = "  ".join(f"[{label}]" for label in labels)
            console.print(Panel(f"{text}\n{buttons}", title="Slack card", border_style="magenta",
                                expand=False))
        return card

    async def staff_clicks(self, card: dict[str, Any], action: str) -> None:
        label = next(
            element["text"]["text"]
            for block in card.get("blocks", []) if block.get("type") == "actions"
            for element in block["elements"] if element.get("action_id") == action
        )
        console.print(f"[bold yellow]Sam (staff, Slack)[/] clicks [b]{label}[/]")
        await self.h.slack.click(
            STAFF_ID, message_ts=card["ts"], action_id=action, value=card_buttons(card)[action]
        )


async def play(story: Story) -> None:
    h = story.h
    await story.citizen("Ana", "/start")
    await story.citizen("Ana", "When is my garbage picked up?")
    await story.citizen("Bruno", "¿Cómo pago una multa de estacionamiento?")
    await story.citizen("Ana", "how do I get a permit to park on my street?")

    replies = await story.citizen(
        "Carla", "The bus shelter on 5th Ave has had broken glass everywhere since Monday"
    )
    reference = next(w.rstrip(";.") for w in replies[0]["text"].split() if w.startswith("TH-"))
    card = await story.card(lambda c: reference in card_text(c), "new case card", show=True)

    await story.staff_clicks(card, "case_claim")
    await story.bot_replies(CITIZENS["Carla"]["user_id"])
    card = await story.card(
        lambda c: c["ts"] == card["ts"] and "Claimed" in card_text(c), "card updated"
    )

    await story.staff_clicks(card, "case_reply")
    await h.slack.wait_for(lambda: h.slack.views, timeout=10)
    reply = "Thanks Carla, a crew will sweep the glass and replace the panel by Thursday."
    console.print(f"[bold yellow]Sam (staff, Slack)[/] types in the reply modal: {reply}")
    await h.slack.submit_view(STAFF_ID, values={"reply": {"text": reply}})
    await story.bot_replies(CITIZENS["Carla"]["user_id"])

    await story.citizen("Carla", "Thank you! The bench there is broken too.")
    await h.slack.wait_for(
        lambda: any("bench" in m["text"] for m in h.slack.thread(TRIAGE_CHANNEL, card["ts"])),
        timeout=10,
    )
    console.print(f"[bold magenta]Slack #{TRIAGE_CHANNEL}[/] thread: Carla's message added")
    note = "The bench is on the same work order."
    console.print(f"[bold yellow]Sam (staff, Slack)[/] replies in the card's thread: {note}")
    await h.slack.post_message(STAFF_ID, TRIAGE_CHANNEL, note, thread_ts=card["ts"])
    await story.bot_replies(CITIZENS["Carla"]["user_id"])

    card = await story.card(lambda c: c["ts"] == card["ts"], "card")
    await story.staff_clicks(card, "case_resolve")
    await story.bot_replies(CITIZENS["Carla"]["user_id"])
    await story.card(
        lambda c: c["ts"] == card["ts"] and "Resolved" in card_text(c), "card updated"
    )
    await story.citizen("Carla", f"/status {reference}")


LISTENED = [
    ("eve_springfield", "Third pothole on Elm Street this month, my tyre is done"),
    ("rob_t", "The streetlight at Oak & 3rd has been out for a week, feels unsafe at night"),
    ("lia", "Lovely picnic in Riverside Park today, thanks to whoever mowed the lawn!"),
]
LISTEN_QUERIES = ["pothole OR streetlight", "park -is:retweet"]


async def play_x(story: Story) -> None:
    """X: a mention answered in a reply post, and public posts heard by keyword listening."""
    h = story.h
    assert h.x is not None
    console.rule("X: mentions are answered in reply posts; keyword matches are only listened to")
    text = "when is my garbage picked up?"
    console.print(f"[bold cyan]@dana_k (X)[/] → @{h.x.account['username']} {text}")
    started = time.perf_counter()
    mention = h.x.mention(text, by="dana_k", name="Dana K")
    await h.wait_for_x_reply(mention, timeout=30)
    story.x_round_trip_ms = (time.perf_counter() - started) * 1000
    await asyncio.sleep(0.5)  # the rest of the thread, if the answer is long
    for post in h.x.posts:
        if post["conversation_id"] == mention["conversation_id"]:
            console.print(Panel(post["text"], title="Townhall → reply post on X",
                                border_style="green", expand=False))
    for author, words in LISTENED:
        console.print(f"[bold cyan]@{author} (X, public)[/] {words}")
        h.x.post(words, by=author)

    def listened(session):
        return session.exec(
            select(Message).where(Message.kind == "listening")
            .where(col(Message.handled_at).is_not(None))
        ).all()

    deadline = time.monotonic() + 30
    while len(rows := await h.bot.db.run(listened)) < len(LISTENED):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    table = Table(title=f"Heard on X (queries: {', '.join(LISTEN_QUERIES)}); not answered")
    for column in ("post", "category", "sentiment"):
        table.add_column(column)
    for row in rows:
        labels = (row.classification or {}).get("labels", {})
        table.add_row(row.text[:60], labels.get("category", "?"), labels.get("sentiment", "?"))
    console.print(table)
    story.listened = len(rows)


WATER_MAIN = [
    ("Dev", "Water main break on Elm Street, the whole road is flooded"),
    ("Fay", "The water main on Elm Street burst, water everywhere"),
    ("Gus", "Elm Street is flooding, looks like a broken water main"),
    ("Hana", "Is someone coming for the water main break on Elm St? It's flooding"),
    ("Ivo", "elm street water main burst!! road under water"),
    ("Jo", "Flooding on Elm Street from a broken water main near the school"),
]


async def play_trends(story: Story) -> None:
    """Several residents report the same thing within minutes: the trends job (every five
    minutes in production; run once here) raises an emerging-issue alert in Slack."""
    h = story.h
    console.rule("Emerging issues: many residents, one topic, a few minutes")
    for k, (name, text) in enumerate(WATER_MAIN):
        console.print(f"[bold cyan]{name} (Telegram)[/] → {text}")
        h.telegram.user_sends(text, user_id=7100 + k, first_name=name)
        story.citizen_messages += 1
    for k in range(len(WATER_MAIN)):
        await h.wait_for_reply(7100 + k, timeout=30)
    report = await h.bot.trends.run()
    console.print(f"[dim]trends job: {report.placed} messages placed in topics, "
                  f"{len(report.raised)} alert(s) raised[/]")
    if report.raised:
        card = await story.card(
            lambda c: "Emerging issue" in card_text(c), "emerging-issue alert", show=True
        )
        await story.staff_clicks(card, "alert_track")
        await story.card(
            lambda c: c["ts"] == card["ts"] and "Tracked" in card_text(c), "alert updated"
        )
    story.alerts = len(report.raised)


async def play_poll(story: Story) -> None:
    """Residents subscribe to a topic; staff ask them a question from Slack; they vote on a
    native Telegram poll (one changes their mind); staff close it and everyone hears the result."""
    h = story.h
    console.rule("Polls: subscribers of a topic answer a native Telegram poll")
    for name in ("Ana", "Bruno"):
        console.print(f"[bold cyan]{name} (Telegram)[/] → /subscribe")
        h.telegram.user_sends("/subscribe", **CITIZENS[name])
        story.citizen_messages += 1
        menu = (await story.bot_replies(int(CITIZENS[name]["user_id"])))[-1]
        parks = keyboard(menu)["Parks"]
        console.print(f"[bold cyan]{name} (Telegram)[/] taps [b]Parks[/]")
        h.telegram.user_presses(parks, message=menu, **CITIZENS[name])
        await story.bot_replies(int(CITIZENS[name]["user_id"]))
    question = "Should Riverside Park get a fenced dog run?"
    console.print(f"[bold yellow]Sam (staff, Slack)[/] /townhall poll → {question}")
    await h.slack.slash_command(STAFF_ID, "/townhall", "poll")
    await h.slack.wait_for(lambda: h.slack.views, timeout=10)
    await h.slack.submit_view(STAFF_ID, values={
        "poll_question": {"poll_question": question},
        "poll_options": {"poll_options": "Yes\nNo\nNot sure"},
        "poll_audience": {"poll_audience": "topic:parks"},
        "poll_announce": {"poll_announce": ["yes"]},
    })
    sent = await h.telegram.wait_for_sent(
        lambda s: s.get("method") == "sendPoll", count=2, timeout=30
    )
    polls = {s["chat_id"]: s["poll"]["id"] for s in sent}
    await h.outbox_settled()
    for name, option in (("Ana", 0), ("Bruno", 1), ("Bruno", 0)):
        choice = ["Yes", "No", "Not sure"][option]
        console.print(f"[bold cyan]{name} (Telegram)[/] votes [b]{choice}[/]")
        h.telegram.user_votes(polls[CITIZENS[name]["user_id"]], [option], **CITIZENS[name])
        await asyncio.sleep(0.3)
    card = await story.card(
        lambda c: question in card_text(c) and "2 (100%)" in card_text(c), "live poll tally",
        show=True,
    )
    await story.staff_clicks(card, "poll_close")
    for name in ("Ana", "Bruno"):
        await story.bot_replies(int(CITIZENS[name]["user_id"]))
    await story.card(lambda c: c["ts"] == card["ts"] and "Poll results" in card_text(c),
                     "poll closed, results chart in its thread")
    story.polls += 1


async def play_digest(story: Story) -> None:
    """The weekly digest of this week so far, as managers get it on Monday morning."""
    h = story.h
    console.rule("The weekly digest: written to disk, summary and report posted in Slack")
    await h.outbox_settled()
    week = week_label_of(datetime.now(UTC).date())
    result = await h.bot.digests.run(week=week)
    await h.outbox_settled()
    summary = result.summary
    console.print(
        f"[bold magenta]Slack #{TRIAGE_CHANNEL}[/] weekly digest {summary.week}: "
        f"{summary.messages} messages, {summary.cases_opened} cases opened, "
        f"{summary.cases_resolved} resolved; top issues: "
        + ", ".join(issue.name for issue in summary.top_issues[:3])
    )
    story.digest = result.files.html
    console.print(f"Report: [link=file://{result.files.html.resolve()}]{result.files.html}[/] "
                  f"(Markdown: {result.files.markdown})")


def _fresh_sqlite(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        for suffix in ("", "-wal", "-shm"):
            Path(url.database + suffix).unlink(missing_ok=True)


async def run_demo(*, database_url: str, keep_running: bool = False) -> int:
    started = time.perf_counter()
    _fresh_sqlite(database_url)
    from townhall.db import Database

    with console.status("Preparing the database and loading the models…"):
        database = Database(database_url)
        database.upgrade()
        database.close()
        models = await asyncio.to_thread(Models.load)
    console.rule("Townhall demo: Telegram, Slack, X and the city's 311 system are local fakes "
                 "on 127.0.0.1")
    async with FakeOpen311() as city, running_townhall(
        models,
        database_url=database_url,
        data_dir=Path("var/demo"),
        city_name="Springfield",
        security={"pseudonym_key": "demo-only-pseudonym-key-not-for-production"},
        x=True,
        x_settings={"listen_queries": LISTEN_QUERIES},
        digest={"enabled": False, "out_dir": Path("var/digests")},
        cases=open311_settings(city),
    ) as harness:
        story = Story(harness)
        await play(story)
        await play_duplicates(story)
        await play_open311(story, city)
        await play_x(story)
        await play_trends(story)
        await play_poll(story)
        await play_digest(story)
        await harness.outbox_settled()
        story.cases = await harness.bot.db.run(
            lambda session: len(session.exec(select(Case.id)).all()))
        _summary(story, harness, time.perf_counter() - started)
        if keep_running:
            console.print(
                f"Still running. Fake Telegram: {harness.telegram.base_url}, fake Slack: "
                f"{harness.slack.api_url}, Townhall: {harness.web_url}. Ctrl+C stops."
            )
            await asyncio.Event().wait()
    return 0


def _summary(story: Story, harness: Harness, wall: float) -> None:
    table = Table(title="Demo summary", show_header=False)
    trips = sorted(story.faq_round_trips)
    table.add_row("Citizen messages", str(story.citizen_messages))
    table.add_row("Bot messages to citizens", str(
        sum(1 for s in harness.telegram.sent if s.get("method") == "sendMessage")))
    table.add_row("Slack API calls", str(len(harness.slack.calls)))
    if harness.x is not None:
        table.add_row("Reply posts on X", str(len(harness.x.posts)))
        table.add_row("X mention → reply post", f"{story.x_round_trip_ms:.0f} ms "
                      "(mentions polled every 0.2 s here)")
        table.add_row("Posts heard by keyword listening", str(story.listened))
    table.add_row("Cases (2 reporters joined one; one filed with the 311 system)",
                  str(story.cases))
    table.add_row("Emerging-issue alerts", str(story.alerts))
    table.add_row("Polls run", str(story.polls))
    if story.digest is not None:
        table.add_row("Weekly digest", str(story.digest))
    if trips:
        table.add_row("Instant answers: median round trip", f"{trips[len(trips) // 2]:.0f} ms")
    table.add_row("Wall time (with model loading)", f"{wall:.1f} s")
    console.print(table)
