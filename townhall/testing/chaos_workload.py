"""What `townhall bench chaos` sends as citizens, and how it counts what came back.

Each citizen message comes from its own citizen (its own private chat), so everything the bot
sends to that chat is about that one message: the chat id is the message's marker. Texts are
drawn from two lists checked against the shipped knowledge base and models: questions the FAQ
answers at once, and reports it cannot answer, which open a staff case (duplicate-report
merging is switched off for the run, so every report opens its own case).

Definitions (what the figures mean):

- *answered*: the citizen's chat received at least one message from the bot (an FAQ answer, or
  the case number of the case their report opened); *lost* = sent - answered.
- *duplicated*, citizen side: the same text sent twice to the same chat. Every message the bot
  sends in this workload is different (one answer or case number per chat, then one staff
  reply), so any repeat is a send done twice.
- *duplicated*, Slack side: a case whose card was posted more than once (edits of a card are
  updates, not posts), or the same note posted twice in the same thread.
- *staff_replies_lost*: a staff reply (a thread reply with a unique marker, answering a card)
  whose marker never reached any citizen. A staff reply reaching the citizen twice is a
  citizen-side duplicate.
"""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

from townhall.testing.chaos_fakes import REFERENCE, StaffDesk
from townhall.testing.fake_telegram import FakeTelegram

FAQ_QUESTIONS = (
    "When is my garbage picked up?",
    "how do I pay a parking ticket",
    "What are the library hours?",
    "How do I get a pet licence for my dog?",
    "When is property tax due?",
    "How do I apply for a building permit?",
    "How do I get a residential parking permit?",
    "how do I report a missed bin collection",
)
REPORTS = (
    "Someone dumped an old mattress and tires in the alley behind Oak Avenue",
    "The playground swing at Riverside Park is broken and dangerous",
    "The traffic light at Main and 3rd has been flashing red all day",
    "Dogs off leash keep chasing kids in Maple Park",
    "Is city hall open on Saturday?",
)
FIRST_CHAT = 700_000_000


@dataclass
class CitizenMessage:
    chat_id: int
    kind: str  # "faq" or "report"
    text: str
    sent_at: float


@dataclass
class Ledger:
    """What was sent, and what arrived (read incrementally from the fake's records)."""

    telegram: FakeTelegram
    desk: StaffDesk
    report_share: float = 0.4
    sent: dict[int, CitizenMessage] = field(default_factory=dict)
    texts: dict[int, Counter[str]] = field(default_factory=dict)  # chat -> bot texts
    first_reply_at: dict[int, float] = field(default_factory=dict)
    markers: Counter[str] = field(default_factory=Counter)
    marker_at: dict[str, float] = field(default_factory=dict)
    _cursor: int = 0

    def send(self, rng: random.Random) -> CitizenMessage:
        """One new citizen writes one message (a question or a report)."""
        chat_id = FIRST_CHAT + len(self.sent)
        report = rng.random() < self.report_share
        text = rng.choice(REPORTS if report else FAQ_QUESTIONS)
        message = CitizenMessage(chat_id, "report" if report else "faq", text, time.monotonic())
        self.sent[chat_id] = message
        self.telegram.user_sends(text, user_id=chat_id, first_name=f"Citizen{len(self.sent)}")
        return message

    def scan(self) -> None:
        """Read the bot's new sends to citizens."""
        records = self.telegram.sent
        now = time.monotonic()
        for record in records[self._cursor :]:
            if record.get("method") != "sendMessage":
                continue
            chat_id, text = int(record["chat_id"]), str(record.get("text") or "")
            self.texts.setdefault(chat_id, Counter())[text] += 1
            self.first_reply_at.setdefault(chat_id, now)
            if "[chaos-staff-" in text:
                marker = text.rsplit("[", 1)[1].rstrip("]")
                self.markers[marker] += 1
                self.marker_at.setdefault(marker, now)
        self._cursor = len(records)

    @property
    def unanswered(self) -> int:
        return sum(1 for chat_id in self.sent if chat_id not in self.first_reply_at)

    @property
    def undelivered_staff_replies(self) -> int:
        return sum(1 for r in self.desk.replies.values() if self.markers[r.marker] == 0)

    def complete(self) -> bool:
        """Everything answered, every card answered by staff and that answer delivered."""
        self.scan()
        self.desk.scan()
        return (
            self.unanswered == 0 and self.desk.pending == 0 and self.undelivered_staff_replies == 0
        )

    def figures(self) -> dict[str, object]:
        """The counts of the module docstring, and latencies (which include the bot's
        downtime: a message sent while the bot is dead waits for the next start)."""
        self.scan()
        self.desk.scan()
        answered = sum(1 for chat_id in self.sent if chat_id in self.first_reply_at)
        citizen_dupes = sum(c - 1 for texts in self.texts.values() for c in texts.values() if c > 1)
        cases = sum(
            1
            for chat_id in self.sent
            if any(REFERENCE.search(text) for text in self.texts.get(chat_id, ()))
        )
        card_dupes, note_dupes = self.desk.duplicated_cards(), self.desk.duplicated_notes()
        staff = self.desk.replies.values()
        answer_ms = [
            (self.first_reply_at[m.chat_id] - m.sent_at) * 1000
            for m in self.sent.values()
            if m.chat_id in self.first_reply_at
        ]
        staff_ms = [
            (self.marker_at[r.marker] - r.posted_at) * 1000
            for r in staff
            if r.marker in self.marker_at
        ]
        return {
            "sent": len(self.sent),
            "answered": answered,
            "lost": len(self.sent) - answered,
            "duplicated": citizen_dupes + card_dupes + note_dupes,
            "duplicated_to_citizens": citizen_dupes,
            "duplicated_cards": card_dupes,
            "duplicated_notes": note_dupes,
            "reports_sent": sum(1 for m in self.sent.values() if m.kind == "report"),
            "cases": cases,
            "cards": len(self.desk.cards),
            "staff_replies": len(self.desk.replies),
            "staff_replies_lost": sum(1 for r in staff if self.markers[r.marker] == 0),
            "staff_reply_redeliveries": self.desk.redeliveries,
            "p50_answer_ms": _percentile(answer_ms, 0.5),
            "p95_answer_ms": _percentile(answer_ms, 0.95),
            "p50_staff_reply_ms": _percentile(staff_ms, 0.5),
        }


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if q == 0.5:
        return round(statistics.median(values), 1)
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)
