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

from sqlalchemy import func
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
        mine = (Message.citizen_id == turn.citizen_id, Message.id != turn.message_id)
        muted_since = now - timedelta(minutes=rules.mute_minutes)
        if session.exec(select(Message.id).where(
            *mine, Message.responder == "flood", Message.received_at >= muted_since
        )).first() is not None:
            return "muted"
        text = turn.message.text if turn.message else ""
        if len(LINK.findall(text)) > rules.max_links:
            return "spam"
        if len(text.strip()) >= MIN_REPEATED:
            repeated = session.execute(select(func.count()).select_from(Message).where(
                *mine, Message.text == text, Message.received_at >= now - timedelta(hours=1)
            )).scalar_one()
            if repeated + 1 >= rules.repeats:
                return "spam"
        recent = session.execute(select(func.count()).select_from(Message).where(
            *mine, Message.kind == "message",
            Message.received_at >= now - timedelta(seconds=rules.window_seconds),
        )).scalar_one()
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
