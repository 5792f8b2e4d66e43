"""Citizens follow the city's topics (and neighbourhoods): `/subscribe`, `/unsubscribe`.

`/subscribe` with nothing after it lists the topics as buttons; a tap (or `/subscribe parks`)
subscribes. `/unsubscribe` lists the citizen's own subscriptions the same way. Topics are named
in the settings; a topic's id is its name in lower case with dashes (`waste-and-recycling`), so
buttons carry a short id, never free text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, col, select

from listening.models import Conversation
from polls.models import Subscription
from responders.chain import Reply, Turn
from responders.texts import say
from townhall.db import Database, insert_or_ignore
from townhall.domain import Address, Button

SUBSCRIBE, UNSUBSCRIBE = "sub", "unsub"
NEIGHBOURHOOD = "area-"


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]


@dataclass(frozen=True)
class Topics:
    """The city's topics and neighbourhoods: id -> name."""

    names: dict[str, str]

    @classmethod
    def from_names(cls, topics: list[str], neighbourhoods: list[str] | None = None) -> Topics:
        names = {slug(name): name for name in topics}
        names.update({NEIGHBOURHOOD + slug(name): name for name in neighbourhoods or []})
        return cls(names)

    def find(self, text: str) -> str | None:
        """The topic id a citizen typed ("parks", "Waste and recycling"), if any."""
        wanted = slug(text)
        if wanted in self.names:
            return wanted
        matches = [t for t in self.names if t.startswith(wanted) or t == NEIGHBOURHOOD + wanted]
        return matches[0] if len(matches) == 1 and wanted else None


def subscribe(session: Session, citizen_id: int, topic: str) -> None:
    kind = "neighbourhood" if topic.startswith(NEIGHBOURHOOD) else "topic"
    insert_or_ignore(
        session, Subscription, {"citizen_id": citizen_id, "kind": kind, "topic": topic},
        ["citizen_id", "kind", "topic"],
    )


def unsubscribe(session: Session, citizen_id: int, topic: str) -> bool:
    rows = session.exec(
        select(Subscription).where(
            Subscription.citizen_id == citizen_id, Subscription.topic == topic
        )
    ).all()
    for row in rows:
        session.delete(row)
    return bool(rows)


def topics_of(session: Session, citizen_id: int) -> list[str]:
    return list(session.exec(
        select(Subscription.topic).where(Subscription.citizen_id == citizen_id)
        .order_by(col(Subscription.id))
    ).all())


def audience(session: Session, topic: str) -> list[tuple[int, Address]]:
    """(citizen id, private address) of everyone subscribed to `topic`, on any channel: the
    conversation they subscribed from, where a private chat is one (not a group)."""
    rows = session.exec(
        select(Subscription.citizen_id, Conversation.address)
        .join(Conversation, col(Conversation.citizen_id) == Subscription.citizen_id)
        .where(Subscription.topic == topic)
        .order_by(col(Subscription.citizen_id), col(Conversation.last_message_at).desc())
    ).all()
    seen: dict[int, Address] = {}
    for citizen_id, address in rows:
        found = Address.from_dict(address)
        if citizen_id not in seen and not found.chat_id.startswith("-"):
            seen[citizen_id] = Address(found.channel, found.chat_id)
    return list(seen.items())


class SubscriptionResponder:
    """`/subscribe`, `/unsubscribe` and their buttons."""

    name = "subscription"

    def __init__(self, db: Database, topics: Topics):
        self.db = db
        self.topics = topics

    async def respond(self, turn: Turn) -> Reply | None:
        press, message = turn.press, turn.message
        if press is not None and press.action in (SUBSCRIBE, UNSUBSCRIBE):
            return await self._change(turn, press.action, press.value)
        if message is None or message.command not in ("subscribe", "unsubscribe"):
            return None
        action = SUBSCRIBE if message.command == "subscribe" else UNSUBSCRIBE
        if message.args.strip():
            topic = self.topics.find(message.args)
            if topic is None:
                return self._reply(say("unknown_topic", turn.language, topic=message.args.strip()))
            return await self._change(turn, action, topic)
        return await self._menu(turn, action)

    async def _menu(self, turn: Turn, action: str) -> Reply:
        language = turn.language
        if action == SUBSCRIBE:
            mine = set(await self.db.run(topics_of, turn.citizen_id))
            offered = [t for t in self.topics.names if t not in mine]
            text = say("subscribe_pick", language)
        else:
            offered = await self.db.run(topics_of, turn.citizen_id)
            if not offered:
                return self._reply(say("no_subscriptions", language))
            text = say("unsubscribe_pick", language)
        buttons = tuple(
            Button(self.topics.names[t], action, t) for t in offered if t in self.topics.names
        )
        return self._reply(text, buttons)

    async def _change(self, turn: Turn, action: str, topic: str) -> Reply:
        language = turn.language
        if topic not in self.topics.names:
            return self._reply(say("unknown_topic", language, topic=topic))
        if action == SUBSCRIBE:
            await self.db.run(subscribe, turn.citizen_id, topic)
            mine = await self.db.run(topics_of, turn.citizen_id)
            names = ", ".join(self.topics.names.get(t, t) for t in mine)
            return self._reply(say("subscribed", language, topics=names))
        await self.db.run(unsubscribe, turn.citizen_id, topic)
        return self._reply(say("unsubscribed", language, topic=self.topics.names[topic]))

    def _reply(self, text: str, buttons: tuple[Button, ...] = ()) -> Reply:
        return Reply(text, self.name, buttons, private=True)
