"""Announcements: staff send a short message to everyone subscribed to a topic.

Each recipient gets one outbox item on their own stream, so the message goes out at the pace the
outbox keeps for each platform (it waits as long as a 429 says) and a restart sends nobody the
announcement twice: the item keys carry the announcement's id.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session

from listening.outbox import Outbox, citizen_stream, enqueue
from polls.subscriptions import Topics, audience
from townhall.db import Database
from townhall.domain import OutboundMessage

MAX_CHARS = 1000


class AnnouncementError(ValueError):
    """The announcement cannot be sent; the message is for the staff member."""


def queue_announcement(session: Session, announcement: str, topic: str, text: str) -> int:
    recipients = audience(session, topic)
    for citizen_id, address in recipients:
        enqueue(
            session, key=f"announce:{announcement}:{citizen_id}", kind="message",
            stream=citizen_stream(address), payload=OutboundMessage(address, text).as_dict(),
        )
    return len(recipients)


class Announcements:
    def __init__(self, db: Database, outbox: Outbox, topics: Topics):
        self.db = db
        self.outbox = outbox
        self.topics = topics

    async def send(self, topic_text: str, text: str) -> tuple[str, int]:
        """Queue `text` for the subscribers of the topic named by `topic_text`; returns the
        topic's name and how many people it goes to."""
        topic = self.topics.find(topic_text)
        if topic is None:
            known = ", ".join(self.topics.names)
            raise AnnouncementError(f"Unknown topic {topic_text!r}; topics: {known}.")
        text = text.strip()
        if not text or len(text) > MAX_CHARS:
            raise AnnouncementError(f"The message must be 1 to {MAX_CHARS} characters.")
        count = await self.db.run(queue_announcement, uuid.uuid4().hex, topic, text)
        self.outbox.wake()
        return self.topics.names[topic], count
