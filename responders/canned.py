"""Saved replies staff pick from a card and edit before sending (`config/replies.yaml`).

Each reply has an id, a title staff see in the menu, and its text per language; the reply is
offered in the case's language when it has one, else in the first language written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class CannedReply:
    id: str
    title: str
    texts: dict[str, str]

    def text(self, language: str | None) -> str:
        return self.texts.get(language or "", next(iter(self.texts.values())))


class CannedReplies:
    def __init__(self, replies: list[CannedReply]):
        self._replies = {r.id: r for r in replies}

    @classmethod
    def from_file(cls, path: Path) -> CannedReplies:
        """Read the file; a missing file means no saved replies, a malformed one is an error
        that names the entry."""
        if not path.exists():
            return cls([])
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        replies = []
        for index, entry in enumerate(data.get("replies") or []):
            if not isinstance(entry, dict) or not entry.get("id") or not entry.get("text"):
                raise ValueError(f"{path}: reply #{index + 1} needs an id and a text")
            text = entry["text"]
            texts = {str(k): str(v).strip() for k, v in text.items()} if isinstance(
                text, dict) else {"en": str(text).strip()}
            replies.append(CannedReply(str(entry["id"]), str(entry.get("title") or entry["id"]),
                                       texts))
        return cls(replies)

    def choices(self) -> tuple[tuple[str, str], ...]:
        """(title, id) for a menu."""
        return tuple((r.title, r.id) for r in self._replies.values())

    def text(self, reply_id: str, language: str | None) -> str | None:
        reply = self._replies.get(reply_id)
        return reply.text(language) if reply else None
