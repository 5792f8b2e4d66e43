"""A poll's live tally in Slack: one card, edited in place as votes come in, final at close.

The card is rendered from the database when the outbox delivers it, so however many votes
arrived since the last edit, the card shows them all; the outbox keys limit edits to one per
`tally_seconds` per poll. Its "Close now" button carries only the poll id.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from sqlmodel import Session

from bots.base import StaffConsole
from listening.digest_charts import poll_chart
from polls.models import Poll
from polls.results import PollResults, as_report_poll, poll_results, tally_lines
from polls.service import PollService
from townhall.db import Database
from townhall.domain import Button, Card, CardField, SendError, StaffAction

CLOSE = "poll_close"


def poll_card(poll: Poll, session: Session) -> Card:
    assert poll.id is not None
    results = poll_results(session, poll.id)
    channels = ", ".join(f"{ch} {sum(c)}" for ch, c in sorted(results.by_channel.items()))
    status = "open" if poll.status == "open" else f"closed {poll.closed_at:%Y-%m-%d %H:%M} UTC"
    fields = (
        CardField("Status", status),
        CardField("Voters", str(results.voters)),
        CardField("Audience", poll.audience),
        CardField("Closes", f"{poll.closes_at:%Y-%m-%d %H:%M} UTC"),
        CardField("By channel", channels or "-"),
        CardField("Created by", f"<@{poll.created_by}>" if poll.created_by.startswith("U")
                  else poll.created_by),
    )
    buttons = (Button("Close now", CLOSE, str(poll.id)),) if poll.status == "open" else ()
    title = ("Poll" if poll.status == "open" else "Poll results") + f": {poll.question}"
    return Card(
        title=title, text=poll.question, fields=fields,
        sections=(("Tally", tally_lines(results)),), buttons=buttons,
        footer=f"Poll {poll.id}",
    )


class PollDesk:
    def __init__(self, db: Database, console: StaffConsole, polls: PollService,
                 channel: str | None = None):
        self.db = db
        self.console = console
        self.polls = polls
        self.channel = channel or None

    async def deliver_card(self, payload: dict[str, Any]) -> str:
        def render(session: Session) -> tuple[Poll | None, Card | None]:
            poll = session.get(Poll, int(payload["poll_id"]))
            return poll, (poll_card(poll, session) if poll else None)

        poll, card = await self.db.run(render)
        if poll is None or card is None:
            raise SendError(f"poll {payload['poll_id']} is gone", permanent=True)
        if poll.slack_channel and poll.slack_ts:
            await self.console.update_card(poll.slack_channel, poll.slack_ts, card)
            return poll.slack_ts
        channel, ts = await self.console.post_card(card, channel=self.channel)
        await self.db.run(_remember_card, int(payload["poll_id"]), channel, ts)
        return ts

    async def deliver_chart(self, payload: dict[str, Any]) -> str:
        """Outbox kind `poll_chart`: the final results as a bar chart in the card's thread."""

        def load(session: Session) -> tuple[Poll | None, PollResults | None]:
            poll = session.get(Poll, int(payload["poll_id"]))
            return poll, (poll_results(session, int(payload["poll_id"])) if poll else None)

        poll, results = await self.db.run(load)
        if poll is None or results is None:
            raise SendError(f"poll {payload['poll_id']} is gone", permanent=True)
        if not (poll.slack_channel and poll.slack_ts):
            raise SendError(f"poll {poll.id} has no card yet")
        chart = await asyncio.to_thread(poll_chart, as_report_poll(results), 1)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"poll-{poll.id}-results.png"
            await asyncio.to_thread(path.write_bytes, chart.png)
            return await self.console.upload_file(
                path, channel=poll.slack_channel, title=f"Results: {poll.question}"[:250],
                thread_ts=poll.slack_ts, comment=chart.alt,
            )

    async def handle(self, action: StaffAction) -> None:
        assert action.poll_id is not None
        await self.polls.close(action.poll_id)


def _remember_card(session: Session, poll_id: int, channel: str, ts: str) -> None:
    poll = session.get(Poll, poll_id)
    if poll is not None:
        poll.slack_channel, poll.slack_ts = channel, ts
        session.add(poll)
