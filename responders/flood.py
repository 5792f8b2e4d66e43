"""Floods and spam from one citizen: acknowledged once, then muted for a while; staff are told.

A citizen who sends more than `max_messages` within `window_seconds` gets one reply saying the
bot pauses, staff get a notice, and their messages in the next `mute_minutes` are stored but not
answered. Repeating the same text (`repeats` times within the window's hour) or a message full
of links is spam: stored, not answered. Both are marked on the message (`responder` "flood",
"muted" or "spam"), which keeps them out of the FAQ statistics, and the ingest keeps no
embedding for them, which keeps them out of trend detection.

The state is the messages table itself (what was marked when), so it holds across restarts and
replicas without a table of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, bindparam, case, func
from sqlmodel import Session, select

from listening.models import Citizen, Message
from listening.outbox import enqueue
from responders.chain import Reply, Turn
from responders.texts import say
from townhall.db import Database
from townhall.domain import utcnow

QUIET = ("flood", "muted", "spam")  # responders that answer nothing (or once)
MIN_REPEATED = 20  # shorter texts ("yes", "1", "thanks") are repeated innocently
LINK = re.compile(r"https?://|www\.", re.IGNORECASE)


_messages = Message.__table__  # type: ignore[attr-defined]


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


# Everything the verdict needs about the citizen's other messages, in one statement built once
# (it runs for every message; three statements built per call cost more than the database):
# flood replies within the mute, the same text within the hour, messages within the window.
_COUNTS = select(
    _count(and_(_messages.c.responder == "flood",
                _messages.c.received_at >= bindparam("muted_since"))),
    _count(and_(_messages.c.text == bindparam("text"),
                _messages.c.received_at >= bindparam("hour_ago"))),
    _count(and_(_messages.c.kind == "message",
                _messages.c.received_at >= bindparam("window_start"))),
).where(
    _messages.c.citizen_id == bindparam("citizen_id"),
    _messages.c.id != bindparam("message_id"),
    _messages.c.received_at >= bindparam("earliest"),
)


@dataclass(frozen=True)
class FloodRules:
    max_messages: int = 12
    window_seconds: float = 60.0
    mute_minutes: float = 15.0
    repeats: int = 3  # the same text this many times within an hour is spam
    max_links: int = 3


class FloodResponder:
    name = "flood"

    def __init__(self, db: Database, rules: FloodRules | None = None):
        self.db = db
        self.rules = rules or FloodRules()

    async def respond(self, turn: Turn) -> Reply | None:
        message = turn.message
        if message is None or message.listen_only or message.command in ("forget", "mydata"):
            return None  # a citizen can always ask for their data or its erasure
        verdict = await self.db.run(self._verdict, turn)
        if verdict == "flood":
            return Reply(say("flood_pause", turn.language,
                             minutes=f"{self.rules.mute_minutes:g}"), "flood", private=True)
        if verdict in ("muted", "spam"):
            return Reply("", verdict)
        return None

    def _verdict(self, session: Session, turn: Turn) -> str | None:
        rules, now = self.rules, utcnow()
        text = turn.message.text if turn.message else ""
        since = {
            "muted_since": now - timedelta(minutes=rules.mute_minutes),
            "hour_ago": now - timedelta(hours=1),
            "window_start": now - timedelta(seconds=rules.window_seconds),
        }
        muted, repeated, recent = session.execute(_COUNTS, {
            "citizen_id": turn.citizen_id, "message_id": turn.message_id, "text": text,
            "earliest": min(since.values()), **since,
        }).one()
        if muted:
            return "muted"
        if len(LINK.findall(text)) > rules.max_links:
            return "spam"
        if len(text.strip()) >= MIN_REPEATED and (repeated or 0) + 1 >= rules.repeats:
            return "spam"
        recent = recent or 0
        if recent + 1 <= rules.max_messages:
            return None
        citizen = session.get(Citizen, turn.citizen_id)
        who = (citizen.display_name if citizen and citizen.display_name else "a citizen")
        enqueue(
            session, key=f"flood:{turn.citizen_id}:{turn.message_id}", kind="notice",
            stream="console:notice",
            payload={"text": f":rotating_light: {who} on {turn.event.channel} sent "
                             f"{recent + 1} messages in {rules.window_seconds:g} s: muted for "
                             f"{rules.mute_minutes:g} min (messages are kept, not answered)."},
        )
        return "flood"


def quiet(responder: str | None) -> bool:
    """Messages that stay out of statistics and trends (floods, mutes, spam)."""
    return responder in QUIET
