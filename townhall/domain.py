"""The types every package speaks, independent of any SDK.

Adapters translate platform updates into these (`to_inbound`) and render these back into platform
calls; everything between the two edges sees only this module. The types are frozen dataclasses so
that an event can be handed between tasks and threads without anyone changing it underneath.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


def utcnow() -> datetime:
    """Aware UTC now: the tables store aware datetimes and return them in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Address:
    """Where a reply must go: the citizen's return address, stored on every case.

    `chat_id` is the conversation on the platform (a private chat, a group, an X conversation);
    `thread_id` a topic or thread inside it; `reply_to` the message a reply should quote.
    """

    channel: str
    chat_id: str
    thread_id: str | None = None
    reply_to: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "channel": self.channel,
            "chat_id": self.chat_id,
            "thread_id": self.thread_id,
            "reply_to": self.reply_to,
        }

    @classmethod
    def from_dict(cls, data: dict[str, str | None]) -> Address:
        return cls(
            channel=str(data["channel"]),
            chat_id=str(data["chat_id"]),
            thread_id=data.get("thread_id"),
            reply_to=data.get("reply_to"),
        )


@dataclass(frozen=True)
class Sender:
    """Who wrote: the platform's user id and what the platform tells us about them."""

    user_id: str
    display_name: str = ""
    language_code: str | None = None


@dataclass(frozen=True)
class Attachment:
    """Something a citizen shared besides text, kept by reference: a photo (`ref` is the
    platform's file id, `size` its bytes) or a location pin (`latitude`, `longitude`)."""

    kind: str  # photo | location
    ref: str = ""
    size: int = 0
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class InboundMessage:
    """A message a citizen wrote (or a public post we listened to).

    `external_id` is unique per channel and makes ingest idempotent: a platform that delivers the
    same update twice produces the same external id. `command` is set for `/status`-style
    commands, with the rest of the text in `args`. `listen_only` marks a public post we
    listened to (a keyword match on X, a group message): it is stored and classified, but no
    responder ever answers it. `private_address` is where a private answer to a public message
    can go (the sender's private chat), when the platform allows the bot to write there.
    """

    channel: str
    external_id: str
    address: Address
    sender: Sender
    text: str
    sent_at: datetime
    command: str | None = None
    args: str = ""
    is_private: bool = True
    listen_only: bool = False
    private_address: Address | None = None
    attachments: tuple[Attachment, ...] = ()
    # the platform id of the bot's message this one replies to (a reply to a case update)
    reply_to_id: str | None = None


@dataclass(frozen=True)
class ButtonPress:
    """A citizen pressed one of our inline buttons; `action` and `value` come from the button."""

    channel: str
    external_id: str
    address: Address
    sender: Sender
    action: str
    value: str
    sent_at: datetime


@dataclass(frozen=True)
class PollAnswer:
    """A citizen answered (or changed, or retracted: no options) their vote in a poll."""

    channel: str
    external_id: str
    address: Address
    sender: Sender
    poll_id: str
    option_ids: tuple[int, ...]
    sent_at: datetime


InboundEvent = InboundMessage | ButtonPress | PollAnswer


@dataclass(frozen=True)
class Button:
    """A button under a message. `action` routes the press; `value` carries an id, never data."""

    label: str
    action: str
    value: str = ""


@dataclass(frozen=True)
class OutboundMessage:
    """A message to a citizen. Buttons are rendered natively where the platform has them."""

    address: Address
    text: str
    buttons: tuple[Button, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "address": self.address.as_dict(),
            "text": self.text,
            "buttons": [[b.label, b.action, b.value] for b in self.buttons],
        }

    @classmethod
    def from_dict(cls, data: dict) -> OutboundMessage:
        return cls(
            address=Address.from_dict(data["address"]),
            text=data["text"],
            buttons=tuple(Button(*b) for b in data.get("buttons", ())),
        )


@dataclass(frozen=True)
class CardField:
    label: str
    value: str


@dataclass(frozen=True)
class Select:
    """A drop-down on a card. Each option's value is sent back as `StaffAction.text`."""

    placeholder: str
    action: str
    case_id: int
    options: tuple[tuple[str, str], ...]  # (label, value)


@dataclass(frozen=True)
class Card:
    """A neutral rich card: Slack renders it as Block Kit, other consoles as text and buttons."""

    title: str
    text: str
    fields: tuple[CardField, ...] = ()
    sections: tuple[tuple[str, str], ...] = ()
    buttons: tuple[Button, ...] = ()
    selects: tuple[Select, ...] = ()
    footer: str = ""
    mention: str = ""  # who to ping when the card is first posted (Slack mention syntax)


class CaseStatus(StrEnum):
    NEW = "new"
    CLAIMED = "claimed"
    ANSWERED = "answered"
    WAITING = "waiting"  # staff asked the citizen something and wait for the answer
    REOPENED = "reopened"  # the citizen said a resolved case is not solved
    RESOLVED = "resolved"

    @property
    def is_open(self) -> bool:
        return self is not CaseStatus.RESOLVED


@dataclass(frozen=True)
class StaffAction:
    """Something a staff member did in the console.

    `kind` is claim, reply, resolve, thread_reply, recategorize or sentiment (the last two
    correct a classifier; `text` carries the chosen value), or faq_add (`text` is a JSON object
    with the new entry's `question`, `answer` and `id`). Buttons and modals name the case by id;
    a reply written in a card's thread names the card (`card_channel`, `card_ts`) instead.
    `key` is unique per real-world action, so a redelivered action changes nothing twice.
    """

    kind: str
    staff_id: str
    key: str
    case_id: int | None = None
    text: str = ""
    card_channel: str | None = None
    card_ts: str | None = None
    alert_id: int | None = None  # alert_track / alert_dismiss name an emerging-issue alert
    poll_id: int | None = None  # poll_close names a poll
    statement_id: int | None = None  # statement_approve / statement_reject name a statement
    # what a reply does to its case besides answering: open | waiting | resolve
    follow_up: str = "open"


@dataclass(frozen=True)
class PollForm:
    """A poll as staff filled it in a console form: options, audience, hours open."""

    question: str
    options: list[str]
    audience: str  # topic:<id> | group:<chat id>
    hours: float
    announce_result: bool = False


@dataclass(frozen=True)
class FaqDraft:
    """What the console's "Add to FAQ" form starts from, taken from a case: the citizen's
    question, the staff's last reply and an id made from the question. Staff edit all three."""

    question: str
    answer: str = ""
    entry_id: str = ""


class FieldError(ValueError):
    """Staff input that cannot be used, naming the form field it is about (`question`, `answer`,
    `id`), so that a console can show the message next to that field instead of in general."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class StorageUnavailable(Exception):
    """The database cannot be reached or written right now (down, restarting, locked).

    `Database` raises it in place of the driver's error, so the parts that can wait for the
    database to come back (long polling, webhooks, the outbox) can tell this from a bug without
    knowing the driver: they leave the work unconfirmed and try again later.
    """


class SendError(Exception):
    """A send failed. Adapters translate SDK errors into this so the outbox can decide.

    `retry_after` is the platform's own hint in seconds (429); `permanent` means retrying cannot
    help (blocked by the user, chat deleted, message too long).
    """

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


@dataclass
class Classification:
    """What the classifier stages found out about one text; stages fill in their own part."""

    language: str = "und"
    language_score: float = 0.0
    embedding: list[float] | None = field(default=None, repr=False)
    # multilingual-e5 embedding, for messages not in English only (the cross-language FAQ match)
    multilingual_embedding: list[float] | None = field(default=None, repr=False)
    labels: dict[str, str] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)  # label -> "name-vN" that produced it


def event_to_dict(event: InboundEvent) -> dict[str, object]:
    """A JSON-ready copy of an event, so a stored message can be handled again after a crash."""
    data = asdict(event)
    data["type"] = type(event).__name__
    data["sent_at"] = event.sent_at.isoformat()
    return data


def event_from_dict(data: dict) -> InboundEvent:
    fields = dict(data)
    kind = fields.pop("type")
    fields["address"] = Address.from_dict(fields["address"])
    fields["sender"] = Sender(**fields["sender"])
    fields["sent_at"] = datetime.fromisoformat(fields["sent_at"])
    if fields.get("private_address"):
        fields["private_address"] = Address.from_dict(fields["private_address"])
    if kind == "ButtonPress":
        return ButtonPress(**fields)
    if kind == "PollAnswer":
        fields["option_ids"] = tuple(fields["option_ids"])
        return PollAnswer(**fields)
    fields["attachments"] = tuple(Attachment(**a) for a in fields.get("attachments", ()))
    return InboundMessage(**fields)
