"""Rows for the weekly digest's tests and benchmark, written straight into the tables.

The digest only reads stored rows, so its tests do not need the bot or its models: `DigestRows`
writes known messages, cases, FAQ feedback and alerts one by one, shaped like the ones ingest
and the case service store (`digest_bulk` writes a million of them for the benchmark).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, insert

from listening.models import Citizen, Conversation, Message
from listening.trend_tables import Alert, Topic
from responders.faq_store import FaqFeedback
from responders.models import Case, CaseRating
from townhall.db import Database

DISPLAY_NAME = "Jo Resident"  # every test citizen's name: a report must never show it


def table_of(model: Any) -> Table:
    return model.__table__


def message_row(
    *, citizen_id: int, conversation_id: int, channel: str, external_id: str, sent_at: datetime,
    text: str, kind: str = "message", category: str | None = None,
    sentiment: str | None = None, responder: str | None = None, score: float = 0.5,
    abusive: bool = False, language: str = "en",
) -> dict[str, Any]:
    """A `messages` row as ingest stores it: the event, its classification, the label copies."""
    user = f"user{citizen_id}"
    address = {"channel": channel, "chat_id": user, "thread_id": None, "reply_to": external_id}
    event = {
        "type": "InboundMessage", "channel": channel, "external_id": external_id,
        "address": address, "sender": {"user_id": user, "display_name": DISPLAY_NAME,
                                       "language_code": language},
        "text": text, "sent_at": sent_at.isoformat(), "command": None, "args": "",
        "is_private": kind == "message", "listen_only": kind == "listening",
        "private_address": None,
    }
    classification = None
    if category or sentiment:
        labels = {"category": category, "sentiment": sentiment,
                  "abuse": "offensive" if abusive else "not_offensive"}
        classification = {
            "language": language, "language_score": 0.97,
            "labels": {k: v for k, v in labels.items() if v},
            "scores": {"category": score, "sentiment": 0.81, "abuse": 0.93},
            "models": {"category": "category-zero-shot-v1", "sentiment": "tweet-v1",
                       "abuse": "tweet-v1"},
        }
    return {
        "channel": channel, "external_id": external_id, "citizen_id": citizen_id,
        "conversation_id": conversation_id, "case_id": None, "kind": kind, "text": text,
        "event": event, "language": language, "classification": classification,
        "category": category, "sentiment": sentiment, "responder": responder,
        "sent_at": sent_at, "received_at": sent_at, "handled_at": sent_at,
    }


def case_row(
    *, citizen_id: int, conversation_id: int, message_id: int, channel: str,
    created_at: datetime, first_response_at: datetime | None = None,
    resolved_at: datetime | None = None, category: str | None = None, summary: str = "",
) -> dict[str, Any]:
    status = "resolved" if resolved_at else "answered" if first_response_at else "new"
    return {
        "reference": f"TH-{message_id:06d}", "citizen_id": citizen_id,
        "conversation_id": conversation_id, "opened_by_message_id": message_id,
        "channel": channel, "address": {"channel": channel, "chat_id": f"user{citizen_id}"},
        "status": status, "summary": summary or "a question", "category": category,
        "abusive": False, "suggestions": [], "created_at": created_at,
        "updated_at": resolved_at or first_response_at or created_at,
        "first_response_at": first_response_at, "resolved_at": resolved_at,
    }


class DigestRows:
    """Known rows for a test, each written in its own transaction; methods return the new id."""

    def __init__(self, db: Database):
        self.db = db
        self._serial = 0

    def _insert(self, model: Any, values: dict[str, Any]) -> int:
        table = table_of(model)
        with self.db.engine.begin() as connection:
            return int(connection.execute(insert(table).returning(table.c.id), values).scalar_one())

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    def citizen(self, channel: str = "telegram") -> int:
        """A citizen with one conversation (of the same id order); returns the citizen's id."""
        now = datetime(2026, 1, 1, tzinfo=UTC)
        serial = self._next()
        citizen = self._insert(Citizen, {"channel": channel, "pseudonym": f"p{serial}",
                                         "display_name": DISPLAY_NAME, "created_at": now,
                                         "last_seen_at": now})
        self._insert(Conversation, {
            "citizen_id": citizen, "channel": channel, "chat_key": f"{channel}:{serial}:",
            "address": {"channel": channel, "chat_id": str(serial)}, "created_at": now,
            "last_message_at": now,
        })
        return citizen

    def _conversation(self, citizen: int) -> int:
        table = table_of(Conversation)
        with self.db.engine.connect() as connection:
            query = table.select().with_only_columns(table.c.id).where(
                table.c.citizen_id == citizen)
            return int(connection.execute(query).scalar_one())

    def message(
        self, sent_at: datetime, text: str = "a message to the city", *,
        channel: str = "telegram", public: bool = False, citizen: int | None = None,
        kind: str | None = None, **labels: Any,
    ) -> int:
        """A message (a listened public post when `public`; another `kind` such as "button"
        if given); `labels` are category, sentiment, responder, score, abusive as in
        `message_row`."""
        citizen = citizen if citizen is not None else self.citizen(channel)
        row = message_row(
            citizen_id=citizen, conversation_id=self._conversation(citizen), channel=channel,
            external_id=f"m{self._next()}", sent_at=sent_at, text=text,
            kind=kind or ("listening" if public else "message"), **labels,
        )
        return self._insert(Message, row)

    def case(
        self, created_at: datetime, *, first_response_at: datetime | None = None,
        resolved_at: datetime | None = None, category: str | None = None,
    ) -> int:
        """A case; the message that opened it is not written (it would count as a message)."""
        citizen = self.citizen()
        return self._insert(Case, case_row(
            citizen_id=citizen, conversation_id=self._conversation(citizen),
            message_id=1_000_000 + self._next(), channel="telegram", created_at=created_at,
            first_response_at=first_response_at, resolved_at=resolved_at, category=category,
        ))

    def rating(
        self, case_id: int, score: int, rated_at: datetime, comment: str | None = None
    ) -> int:
        """The case's citizen rates it (1-5) at `rated_at`."""
        citizen = self.db.transact(lambda s: s.get(Case, case_id).citizen_id)
        return self._insert(CaseRating, {
            "case_id": case_id, "citizen_id": citizen, "score": score, "comment": comment,
            "created_at": rated_at, "updated_at": rated_at,
        })

    def feedback(self, message_id: int, helpful: bool, entry_id: str = "garbage-day") -> int:
        citizen = self.db.transact(lambda s: s.get(Message, message_id).citizen_id)
        return self._insert(FaqFeedback, {
            "entry_id": entry_id, "citizen_id": citizen, "message_id": message_id,
            "helpful": helpful, "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        })

    def alert(self, first_alert_at: datetime, label: str, **fields: Any) -> int:
        """An alert on a new topic; `fields` override the Alert columns (status, messages...)."""
        topic = self._insert(Topic, {"centroid": b"\0" * 8, "size": 1, "status": "active",
                                     "created_at": first_alert_at,
                                     "last_message_at": first_alert_at})
        values = {
            "topic_id": topic, "status": "open", "label": label, "messages": 10, "citizens": 5,
            "growth": 3.0, "channels": {"telegram": 10}, "category": None, "sentiment": None,
            "examples": [], "first_alert_at": first_alert_at, "updated_at": first_alert_at,
        }
        return self._insert(Alert, {**values, **fields})
