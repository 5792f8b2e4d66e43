"""The weekly digest on its schedule: written to `var/digests/`, then posted to Slack.

Posting goes through the outbox in two items on one stream: the summary message (Block Kit),
then the HTML report uploaded into that message's thread. Two items, because each Slack call
must be retried on its own: a failed upload must not post the summary a second time. The
outbox keys carry the week, so a week's digest is posted once however many replicas (or
restarts) run the job; a replica that delivers the upload without the file on its disk writes
the report again first.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from bots.base import StaffConsole
from bots.slack.digest_blocks import summary_blocks
from listening.digest_job import DigestResult, make_weekly_digest
from listening.digest_weeks import last_complete_week
from listening.models import Message, OutboxItem
from listening.outbox import Outbox, enqueue, message_id, posted_message
from townhall.db import Database
from townhall.domain import SendError, utcnow
from townhall.settings import Settings

log = logging.getLogger(__name__)


def summary_key(week: str) -> str:
    return f"digest:{week}:summary"


def _queue(session: Session, result: DigestResult, channel: str | None) -> bool:
    summary = result.summary
    stream = f"console:digest:{summary.week}"
    text = f"Weekly digest {summary.week} ({summary.period}): {summary.messages} messages"
    queued = enqueue(
        session, key=summary_key(summary.week), kind="digest", stream=stream,
        payload={"text": text, "blocks": summary_blocks(summary), "channel": channel},
    )
    enqueue(
        session, key=f"digest:{summary.week}:report", kind="digest_report", stream=stream,
        payload={"week": summary.week, "html": str(result.files.html),
                 "title": f"Townhall weekly digest {summary.week}"},
    )
    return queued


def _had_messages_before(session: Session, end: datetime) -> bool:
    return session.exec(select(Message.id).where(Message.received_at < end)).first() is not None


def _queued(session: Session, week: str) -> bool:
    query = select(OutboxItem.id).where(OutboxItem.key == summary_key(week))
    return session.exec(query).first() is not None


class DigestDesk:
    def __init__(
        self, db: Database, outbox: Outbox, console: StaffConsole | None, settings: Settings
    ):
        self.db = db
        self.outbox = outbox
        self.console = console
        self.settings = settings

    async def run(self, week: str | None = None, now: datetime | None = None) -> DigestResult:
        """Write the digest (default: the last complete week) and queue its Slack post."""
        result = await make_weekly_digest(self.db, self.settings, week, now)
        log.info("digest %s written to %s", result.summary.week, result.files.html)
        if self.console is not None:
            channel = self.settings.digest.slack_channel or None
            if await self.db.run(_queue, result, channel):
                self.outbox.wake()
        return result

    async def catch_up(self, now: datetime | None = None) -> DigestResult | None:
        """At start-up: the last complete week's digest, if the process was down when it was
        due and nobody made it (a restart must not lose a week's report)."""
        now = now or utcnow()
        week = last_complete_week(now, self.settings.digest.timezone)
        due = week.end + _offset(self.settings)
        if now < due or await self.db.run(_queued, week.label):
            return None
        if not await self.db.run(_had_messages_before, week.end):
            return None  # a new installation: no report about a week before it existed
        return await self.run(week.label, now)

    async def deliver_summary(self, payload: dict[str, Any]) -> str:
        assert self.console is not None
        channel, ts = await self.console.post_blocks(
            payload["text"], payload["blocks"], payload.get("channel")
        )
        return message_id(channel, ts)

    async def deliver_report(self, payload: dict[str, Any]) -> str:
        assert self.console is not None
        posted = await self.db.run(posted_message, summary_key(payload["week"]))
        if posted is None:
            raise SendError(f"the digest summary for {payload['week']} is not posted yet")
        channel, ts = posted
        html = Path(payload["html"])
        if not await asyncio.to_thread(html.exists):  # written on another replica, or cleaned
            html = (await make_weekly_digest(self.db, self.settings, payload["week"])).files.html
        return await self.console.upload_file(
            html, channel=channel, title=payload["title"], thread_ts=ts,
            comment="The full report: open it in a browser (charts and tables, no links out).",
        )


def _offset(settings: Settings) -> timedelta:
    """How long after the week's end the digest is due (day and time of the schedule)."""
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].index(settings.digest.day)
    hour, minute = (int(part) for part in settings.digest.time.split(":"))
    return timedelta(days=days, hours=hour, minutes=minute)
