"""FAQ answers: the citizen's message is compared with every example question of every entry.

Matching is by sentence-embedding similarity. An entry's score is its best example's cosine
similarity; the bot answers only when the best entry clears `threshold` *and* beats the runner-up
by `margin` (two entries that fit equally well mean we do not know which one was meant). Below
that, the message goes on to escalation, with the closest entries as suggestions for staff; so
does a match with an entry marked `escalate` ("I want to talk to a person").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from responders.chain import Reply, Turn
from responders.texts import say

Encode = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class FaqEntry:
    id: str
    questions: tuple[str, ...]
    answer: str
    category: str = "other"
    escalate: bool = False
    translations: dict[str, dict[str, object]] = field(default_factory=dict)

    def answer_in(self, language: str) -> str | None:
        translated = self.translations.get(language, {}).get("answer")
        return str(translated) if translated else None

    def all_questions(self) -> list[str]:
        extra = [q for t in self.translations.values() for q in t.get("questions", [])]
        return [*self.questions, *map(str, extra)]


class KnowledgeBaseError(ValueError):
    """The FAQ file is not usable: the message says where and why."""


def load_knowledge_base(path: Path) -> tuple[str, list[FaqEntry]]:
    """Read `config/faq.yaml`: (default language, entries). Fails loudly on a malformed file."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeBaseError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise KnowledgeBaseError(f"{path}: expected a mapping with an 'entries' list")
    entries: list[FaqEntry] = []
    seen: set[str] = set()
    for index, raw in enumerate(data["entries"]):
        where = f"{path}: entry {index}"
        if not isinstance(raw, dict):
            raise KnowledgeBaseError(f"{where}: not a mapping")
        missing = [k for k in ("id", "questions", "answer") if not raw.get(k)]
        if missing:
            raise KnowledgeBaseError(f"{where}: missing {', '.join(missing)}")
        if raw["id"] in seen:
            raise KnowledgeBaseError(f"{where}: duplicate id {raw['id']!r}")
        seen.add(raw["id"])
        entries.append(
            FaqEntry(
                id=str(raw["id"]),
                questions=tuple(str(q) for q in raw["questions"]),
                answer=str(raw["answer"]).strip(),
                category=str(raw.get("category", "other")),
                escalate=bool(raw.get("escalate", False)),
                translations=dict(raw.get("translations") or {}),
            )
        )
    return str(data.get("default_language", "en")), entries


@dataclass(frozen=True)
class Match:
    entry: FaqEntry
    score: float


class FaqMatcher:
    """Holds the example embeddings; `rank` scores every entry against one message embedding."""

    def __init__(self, entries: Sequence[FaqEntry], encode: Encode):
        self.entries = list(entries)
        examples: list[str] = []
        owners: list[int] = []
        for index, entry in enumerate(self.entries):
            for question in entry.all_questions():
                examples.append(question)
                owners.append(index)
        self._owners = np.asarray(owners)
        self._examples = encode(examples) if examples else np.zeros((0, 1), np.float32)

    def rank(self, embedding: Sequence[float], top: int = 3) -> list[Match]:
        if not self.entries:
            return []
        similarities = self._examples @ np.asarray(embedding, dtype=np.float32)
        best = np.full(len(self.entries), -1.0, dtype=np.float32)
        np.maximum.at(best, self._owners, similarities)
        order = np.argsort(-best)[:top]
        return [Match(self.entries[i], float(best[i])) for i in order]


class FaqResponder:
    name = "faq"

    def __init__(
        self,
        matcher: FaqMatcher,
        *,
        threshold: float,
        margin: float,
        default_language: str = "en",
    ):
        self.matcher = matcher
        self.threshold = threshold
        self.margin = margin
        self.default_language = default_language

    def decide(self, embedding: Sequence[float]) -> Match | None:
        """The entry to answer with, or None when no entry is clearly right."""
        ranked = self.matcher.rank(embedding, top=2)
        if not ranked or ranked[0].score < self.threshold:
            return None
        if len(ranked) > 1 and ranked[0].score - ranked[1].score < self.margin:
            return None
        return ranked[0]

    async def respond(self, turn: Turn) -> Reply | None:
        if turn.message is None or turn.message.command or turn.classification.embedding is None:
            return None
        match = self.decide(turn.classification.embedding)
        if match is None or match.entry.escalate:
            return None  # escalation takes it from here
        return Reply(self.render(match.entry, turn.language), self.name)

    def render(self, entry: FaqEntry, language: str) -> str:
        translated = entry.answer_in(language)
        if translated or language == self.default_language:
            return translated or entry.answer
        return f"{entry.answer}\n\n{say('only_in_default', language)}"
