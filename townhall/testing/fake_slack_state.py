"""Workspace state of the fake Slack: what a real workspace remembers between API calls.

Kept separate from the HTTP layer so the Web API handlers, the human-side helpers and the
observation API all read and write one consistent store (and a failed call can be rejected
before anything here is touched).
"""

from __future__ import annotations

import copy
import random
import string
import time
from dataclasses import dataclass, field
from typing import Any

ALPHABET = string.ascii_uppercase + string.digits
# The triage channel every fake workspace starts with (the bot posts case cards there).
TRIAGE_CHANNEL = "C0TRIAGE01"


@dataclass(frozen=True)
class Identity:
    """Who the app is and which workspace it is installed in (fixed for a fake's lifetime)."""

    team_id: str
    team_name: str
    team_domain: str
    bot_user_id: str
    bot_id: str
    app_id: str
    bot_name: str
    verification_token: str

    @property
    def team_url(self) -> str:
        """The workspace URL auth.test reports (never contacted)."""
        return f"https://{self.team_domain}.slack.com/"


class IdFactory:
    """Deterministic Slack-looking IDs (prefix + uppercase alphanumerics, >= 9 chars in total).

    Seeded so two runs of the same test produce the same IDs, which keeps failures readable;
    the 2021 OpenAPI spec enforces patterns such as ``^[CGD][A-Z0-9]{8,}$``.
    """

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._issued: set[str] = set()

    def new(self, prefix: str, length: int = 10) -> str:
        """Return a fresh, never-issued ID such as ``V0A1B2C3D4E``."""
        while True:
            candidate = prefix + "".join(self._rng.choices(ALPHABET, k=length))
            if candidate not in self._issued:
                self._issued.add(candidate)
                return candidate

    def token(self, nbytes: int = 12) -> str:
        """Return an opaque lowercase hex token (tickets, upload paths, trigger suffixes)."""
        return "".join(self._rng.choices("0123456789abcdef", k=nbytes * 2))

    def block_id(self) -> str:
        """Slack assigns short random block_ids (e.g. ``bN5U``) to blocks that have none."""
        return "".join(self._rng.choices(string.ascii_letters + string.digits, k=4))


class TsClock:
    """Issues message timestamps like ``1700000000.000100``: wall-clock based, strictly increasing.

    Real Slack ts values double as message IDs, so uniqueness within a channel matters more than
    precision; we guarantee global uniqueness by bumping the microsecond part on collisions.
    """

    def __init__(self) -> None:
        self._last_us = 0

    def next(self) -> str:
        """Return the next unique ts string (10 digits, dot, 6 digits)."""
        now_us = time.time_ns() // 1000
        self._last_us = max(now_us, self._last_us + 1)
        return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"


@dataclass
class User:
    """A workspace member (staff, residents' proxies, or other bots)."""

    id: str
    name: str
    real_name: str
    is_bot: bool = False
    is_admin: bool = False
    tz: str = "America/New_York"
    updated: int = field(default_factory=lambda: int(time.time()))


@dataclass
class StoredMessage:
    """One channel message as Slack stores it, plus its edit history (previous versions)."""

    channel: str
    data: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ts(self) -> str:
        """The message's ts (its ID within the channel)."""
        return str(self.data["ts"])

    @property
    def is_reply(self) -> bool:
        """True for thread replies (thread_ts set and different from ts)."""
        thread_ts = self.data.get("thread_ts")
        return thread_ts is not None and thread_ts != self.ts

    def snapshot(self) -> dict[str, Any]:
        """A deep copy for observers: the message plus ``channel`` and ``history``."""
        out = copy.deepcopy(self.data)
        out["channel"] = self.channel
        out["history"] = copy.deepcopy(self.history)
        return out


@dataclass
class Channel:
    """A conversation the app can see; ``members=None`` means every workspace user is a member."""

    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    members: set[str] | None = None
    bot_is_member: bool = True
    created: int = field(default_factory=lambda: int(time.time()))
    topic: str = ""
    purpose: str = ""
    messages: list[StoredMessage] = field(default_factory=list)


@dataclass
class ViewRecord:
    """An opened modal view and who sees it (pushed views link via root/previous_view_id)."""

    view: dict[str, Any]
    user_id: str
    is_open: bool = True
    submissions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Trigger:
    """A trigger_id handed to the app in an interaction; usable once, for a few seconds."""

    user_id: str
    issued_at: float
    used: bool = False


@dataclass
class Upload:
    """A file going through files.getUploadURLExternal -> upload URL -> completeUploadExternal."""

    file_id: str
    filename: str
    length: int
    upload_token: str
    alt_txt: str | None = None
    title: str | None = None
    content: bytes | None = None
    completed: bool = False
    channel_id: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None

    def snapshot(self) -> dict[str, Any]:
        """A plain dict for observers."""
        return {
            "file_id": self.file_id,
            "filename": self.filename,
            "length": self.length,
            "title": self.title,
            "alt_txt": self.alt_txt,
            "content": self.content,
            "completed": self.completed,
            "channel_id": self.channel_id,
            "thread_ts": self.thread_ts,
            "initial_comment": self.initial_comment,
        }


@dataclass
class ResponseUrl:
    """Where a response_url posted by an interaction points (message, channel and actor)."""

    channel: str
    user_id: str
    message_ts: str | None
    thread_ts: str | None
    uses: int = 0


class Workspace:
    """All mutable state of the fake workspace, with lookups that the API handlers share."""

    def __init__(self, identity: Identity, seed: int = 0) -> None:
        self.identity = identity
        self.ids = IdFactory(seed)
        self.clock = TsClock()
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.usergroups: dict[str, dict[str, Any]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, ViewRecord] = {}
        self.view_order: list[str] = []
        self.triggers: dict[str, Trigger] = {}
        self.uploads: dict[str, Upload] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.deleted: list[dict[str, Any]] = []
        self._index: dict[tuple[str, str], StoredMessage] = {}

    # -- messages -----------------------------------------------------------------------------

    def find(self, channel: str, ts: str) -> StoredMessage | None:
        """The stored message with this ts in this channel, if any."""
        return self._index.get((channel, ts))

    def store(self, channel: str, data: dict[str, Any]) -> StoredMessage:
        """Append a message (top-level or reply) and maintain the parent's thread summary."""
        record = StoredMessage(channel=channel, data=data)
        self.channels[channel].messages.append(record)
        self._index[(channel, record.ts)] = record
        if record.is_reply:
            parent = self.find(channel, str(data["thread_ts"]))
            if parent is not None:
                self._summarise_thread(parent)
        return record

    def remove(self, record: StoredMessage) -> None:
        """Delete a message; a parent with replies leaves a tombstone like real Slack."""
        replies = self.replies(record)
        self.deleted.append(record.snapshot())
        if replies and not record.is_reply:
            keep = {
                k: record.data[k]
                for k in (
                    "thread_ts",
                    "reply_count",
                    "reply_users",
                    "reply_users_count",
                    "latest_reply",
                    "ts",
                )
                if k in record.data
            }
            record.data = {
                "type": "message",
                "subtype": "tombstone",
                "text": "This message was deleted.",
                "user": "USLACKBOT",
                "hidden": True,
                **keep,
            }
            return
        self.channels[record.channel].messages.remove(record)
        del self._index[(record.channel, record.ts)]
        if record.is_reply:
            parent = self.find(record.channel, str(record.data["thread_ts"]))
            if parent is not None:
                self._summarise_thread(parent)

    def replies(self, parent: StoredMessage) -> list[StoredMessage]:
        """Thread replies of a parent message, oldest first."""
        return [
            m
            for m in self.channels[parent.channel].messages
            if m.is_reply and m.data.get("thread_ts") == parent.ts
        ]

    def _summarise_thread(self, parent: StoredMessage) -> None:
        replies = self.replies(parent)
        if not replies:
            for key in (
                "thread_ts",
                "reply_count",
                "reply_users",
                "reply_users_count",
                "latest_reply",
                "is_locked",
                "subscribed",
            ):
                parent.data.pop(key, None)
            return
        users: list[str] = []
        for reply in replies:
            author = reply.data.get("user")
            if author and author not in users:
                users.append(str(author))
        parent.data.update(
            {
                "thread_ts": parent.ts,
                "reply_count": len(replies),
                "reply_users": users,
                "reply_users_count": len(users),
                "latest_reply": replies[-1].ts,
                "is_locked": False,
                "subscribed": False,
            }
        )

    # -- conversations and members -------------------------------------------------------------

    def resolve_channel(self, channel_id: str) -> Channel | None:
        """A channel by ID; a user ID opens (or reuses) the DM with that user, as Slack does."""
        if channel_id in self.channels:
            return self.channels[channel_id]
        if channel_id in self.users:
            dm_id = "D" + channel_id[1:]
            if dm_id not in self.channels:
                self.channels[dm_id] = Channel(
                    id=dm_id,
                    name=channel_id,
                    is_im=True,
                    members={channel_id, self.identity.bot_user_id},
                )
            return self.channels[dm_id]
        return None

    def members(self, channel: Channel) -> set[str]:
        """Member user IDs of a channel (bot included when it has joined)."""
        base = set(self.users) if channel.members is None else set(channel.members)
        if channel.bot_is_member:
            base.add(self.identity.bot_user_id)
        return base

    # -- interactions --------------------------------------------------------------------------

    def issue_trigger(self, user_id: str) -> str:
        """A new trigger_id shaped like Slack's (``<digits>.<digits>.<hex>``)."""
        trigger_id = (
            f"{int(time.time() * 1000)}{len(self.triggers):03d}.{self.ids.token(4)}."
            f"{self.ids.token(16)}"
        )
        self.triggers[trigger_id] = Trigger(user_id=user_id, issued_at=time.monotonic())
        return trigger_id

    def latest_open_view(self, user_id: str | None = None) -> ViewRecord | None:
        """The most recently opened/pushed view that is still open (optionally for one user)."""
        for view_id in reversed(self.view_order):
            record = self.views[view_id]
            if record.is_open and (user_id is None or record.user_id == user_id):
                return record
        return None
