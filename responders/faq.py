"""FAQ answers: which entry, if any, the citizen's message asks about.

Every entry's example questions (and their translations) are encoded once; `responders.faq_match`
holds the decision, shared with `townhall eval faq` so that what is measured is what runs. In
short: a logistic regression over the embeddings gives each entry a probability; the bot answers
when the best entry reaches `threshold`, beats the runner-up by `margin`, and the message is at
least `min_similarity` close to one of that entry's example questions. When two or three entries
share the probability it asks which one was meant (`clarify`); otherwise the message goes on to
escalation, with the closest entries as suggestions for staff; so does a match with an entry
marked `escalate` ("I want to talk to a person").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from responders.chain import Reply, Turn
from responders.faq_buttons import help_buttons, pick_buttons
from responders.faq_match import (
    MIN_SIMILARITY,
    OOS,
    Action,
    FaqModel,
    Policy,
    Scores,
    rank,
)
from responders.texts import say
from townhall.domain import Classification

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
    score: float  # the entry's probability (0-1) for this message


@dataclass(frozen=True)
class FaqDecision:
    """What to do with a message: `answer` (matches = the entry), `clarify` (the 2-3 entries to
    offer as "which did you mean?"), or `escalate` (the closest entries, for staff)."""

    action: Action
    matches: tuple[Match, ...]


class FaqMatcher:
    """The entries and the model fitted on their example questions.

    `negatives` are messages known to need a person (no entry answers them); they make the
    model escalate similar ones. `rebuild` refits after entries change; the swap is a single
    assignment, so a message being matched meanwhile sees either the old or the new model.
    """

    def __init__(
        self, entries: Sequence[FaqEntry], encode: Encode, *, negatives: Sequence[str] = ()
    ):
        self._encode = encode
        self._negatives = list(negatives)
        self._state = self._build(list(entries))

    def _build(
        self, entries: list[FaqEntry]
    ) -> tuple[list[FaqEntry], dict[str, FaqEntry], FaqModel]:
        by_id = {entry.id: entry for entry in entries}
        if OOS in by_id:
            raise KnowledgeBaseError(
                f"an entry may not be called {OOS!r}: that label means 'escalate'"
            )
        texts = [q for entry in entries for q in entry.all_questions()] + self._negatives
        labels = [entry.id for entry in entries for _ in entry.all_questions()]
        labels += [OOS] * len(self._negatives)
        embeddings = self._encode(texts) if texts else np.zeros((0, 1), np.float32)
        return entries, by_id, FaqModel(np.asarray(embeddings, dtype=np.float32), labels)

    def rebuild(self, entries: Sequence[FaqEntry]) -> None:
        """Refit on a new list of entries (an entry was added, changed or removed)."""
        self._state = self._build(list(entries))

    @property
    def entries(self) -> list[FaqEntry]:
        return self._state[0]

    def rank(self, embedding: Sequence[float], top: int = 3) -> list[Match]:
        """The `top` most probable entries, best first."""
        _, by_id, model = self._state
        scores = model.scores(np.asarray(embedding, dtype=np.float32))
        ranked = rank(scores, top)
        return [
            Match(by_id[scores.entries[i]], float(p))
            for i, p in zip(ranked.index[0], ranked.probability[0], strict=True)
            if i >= 0
        ]

    def scores(self, embeddings: np.ndarray) -> Scores:
        """Every entry's probability and best example similarity for many messages at once
        (what `townhall faq calibrate` chooses thresholds on)."""
        return self._state[2].scores(np.asarray(embeddings, dtype=np.float32))

    def decision(self, embedding: Sequence[float], policy: Policy) -> FaqDecision:
        _, by_id, model = self._state
        decision = model.decide(np.asarray(embedding, dtype=np.float32), policy)
        matches = tuple(Match(by_id[c.entry], c.probability) for c in decision.candidates)
        return FaqDecision(decision.action, matches)


class FaqResponder:
    """Answers from the FAQ, asks "which did you mean?" when two or three entries fit, and passes
    the rest on. Messages not in English are matched with the multilingual encoder (their
    `multilingual_embedding`), against every entry's questions in all languages, with a policy
    of its own: that encoder's scores sit in a different range."""

    name = "faq"

    def __init__(
        self,
        matcher: FaqMatcher,
        *,
        threshold: float,
        margin: float,
        min_similarity: float = MIN_SIMILARITY,
        default_language: str = "en",
        multilingual: FaqMatcher | None = None,
        multilingual_policy: Policy | None = None,
    ):
        self.matcher = matcher
        self.policy = Policy(threshold, margin, min_similarity)
        self.default_language = default_language
        self.multilingual = multilingual
        self.multilingual_policy = multilingual_policy or self.policy

    def decision(self, embedding: Sequence[float]) -> FaqDecision:
        """Answer, clarify (with the entries to offer) or escalate."""
        return self.matcher.decision(embedding, self.policy)

    def decide(self, embedding: Sequence[float]) -> Match | None:
        """The entry to answer with, or None when no entry is clearly right."""
        decision = self.decision(embedding)
        return decision.matches[0] if decision.action == "answer" else None

    def decision_for(self, classification: Classification) -> FaqDecision | None:
        """The decision for a classified message, with the encoder that suits its language."""
        other_language = classification.multilingual_embedding
        if other_language is not None and self.multilingual is not None:
            return self.multilingual.decision(other_language, self.multilingual_policy)
        if classification.embedding is None:
            return None
        return self.decision(classification.embedding)

    async def respond(self, turn: Turn) -> Reply | None:
        if turn.message is None or turn.message.command:
            return None
        decision = self.decision_for(turn.classification)
        if decision is None or decision.action == "escalate":
            return None  # escalation takes it from here
        if decision.action == "clarify":
            entries = [match.entry for match in decision.matches]
            buttons = pick_buttons(turn.message_id, entries, turn.language)
            return Reply(say("faq_which", turn.language), self.name, buttons)
        entry = decision.matches[0].entry
        if entry.escalate:
            return None
        return self.answer(entry, turn.language, turn.message_id)

    def answer(self, entry: FaqEntry, language: str, message_id: int) -> Reply:
        """The entry's answer with "Did this help?" buttons tied to the question's message."""
        text = f"{self.render(entry, language)}\n\n{say('faq_did_it_help', language)}"
        return Reply(text, self.name, help_buttons(message_id, entry.id, language))

    def render(self, entry: FaqEntry, language: str) -> str:
        translated = entry.answer_in(language)
        if translated or language == self.default_language:
            return translated or entry.answer
        return f"{entry.answer}\n\n{say('only_in_default', language)}"
