"""Which FAQ entry a message asks about, or that none does: a pure decision over embeddings.

Given the example questions' embeddings with their entry ids (plus optional examples labelled
`oos`, messages that must go to staff), a `FaqModel` scores messages and a `Policy` turns the
scores into one of three decisions: `answer` (one entry), `clarify` (2-3 entries: ask "which did
you mean?") or `escalate` (no entry fits). No I/O and no model loading here: the caller encodes.

Why these scores (measured on CLINC150 and Banking77 train/validation with frozen MiniLM
embeddings, see `townhall eval faq`):

- An entry's *probability* comes from a multinomial logistic regression over the embeddings,
  one class per entry (plus one for the `oos` examples). It separates neighbouring entries far
  better than comparing with the nearest example: at a 3% wrong-answer rate it answered 94% of
  CLINC's in-scope messages correctly against 71-80% for the best example, the mean of the top-k
  examples or the centroid, and it is a probability, so one threshold and one margin mean the
  same thing for every knowledge base, and two entries that share the mass are visibly ambiguous.
- A softmax over N entries still gives a confident winner to a message that fits none of them
  when N is small (with 2 entries one of them always has p >= 0.5). So an answer or a
  suggestion also needs the message to be at least `min_similarity` (cosine) close to one of
  that entry's own example questions: an absolute test that does not depend on how many
  entries there are. On CLINC150 it cost 0.5 point of in-scope accuracy and escalated 5 points
  more of the out-of-scope messages; in simulated 1-2 entry KBs it escalates 97% of them.
- With one entry and no `oos` examples there is nothing to discriminate: its probability is 1
  and the similarity test alone decides.

Matching one message is two small matrix products (examples x 384, entries x 384): about 2 ms
with 5,000 entries of 5 questions. Adding an entry means refitting (`with_examples`): 0.1 s for
the city's knowledge base, a minute for CLINC150's 15,000 questions, about 4 minutes for 5,000
entries (encoding their 25,000 questions costs about as much).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

OOS = "oos"  # the label of examples that no entry answers: they must be escalated
MIN_SIMILARITY = 0.4  # default of [faq].min_similarity: the bot and `eval faq` share it
# Inverse L2 strength for the logistic regression. Unit-length embeddings have small
# coordinates, so useful values are well above scikit-learn's 1: on CLINC150 C=10 and C=30 were
# equal, and with few example questions per entry C=30 keeps the probabilities from flattening
# (a simulated 36-entry KB with 5 questions each: 63% -> 76% answered right, same settings).
LOGREG_C = 30.0
TOLERANCE = 1e-6  # scikit-learn's default (1e-4) stops at once when there are thousands of classes
MAX_ITER = 1000
CHUNK = 4_000_000  # message x example similarities computed at once (16 MB of float32)

Action = Literal["answer", "clarify", "escalate"]
ACTIONS: tuple[Action, ...] = ("escalate", "answer", "clarify")  # index = code in arrays
ESCALATE, ANSWER, CLARIFY = 0, 1, 2


@dataclass(frozen=True)
class Policy:
    """When to answer: `threshold` on the best entry's probability, `margin` over the runner-up,
    and `min_similarity` (cosine) between the message and one of the entry's own examples."""

    threshold: float
    margin: float
    min_similarity: float = MIN_SIMILARITY


@dataclass(frozen=True)
class Candidate:
    entry: str
    probability: float
    similarity: float  # cosine with the entry's closest example question


@dataclass(frozen=True)
class Decision:
    """`answer`: candidates = (the entry,); `clarify`: the 2-3 entries to choose from;
    `escalate`: the closest 3 entries, as suggestions for staff (may be empty)."""

    action: Action
    candidates: tuple[Candidate, ...]

    @property
    def entry(self) -> str | None:
        """The entry to answer with, or None."""
        return self.candidates[0].entry if self.action == "answer" else None


@dataclass(frozen=True)
class Scores:
    """Per message (rows) and entry (columns): probability and best example similarity."""

    entries: tuple[str, ...]
    probabilities: np.ndarray
    similarities: np.ndarray


@dataclass(frozen=True)
class Ranked:
    """The top 3 entries of every message (index -1 and probability 0 where there are fewer)."""

    index: np.ndarray  # n x 3 entry indices, best first
    probability: np.ndarray  # n x 3
    similarity: np.ndarray  # n x 3


class FaqModel:
    """Example embeddings (unit length) with their labels, and the classifier fitted on them.

    Immutable: `with_examples` returns a new model, so a bot can swap models between messages.
    """

    def __init__(self, embeddings: np.ndarray, labels: Sequence[str], *, c: float = LOGREG_C):
        labels = [str(label) for label in labels]
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or len(embeddings) != len(labels):
            raise ValueError("one embedding row per label")
        self.c = c
        self.entries: tuple[str, ...] = tuple(sorted(set(labels) - {OOS}))
        self._all = embeddings
        self._labels = tuple(labels)
        index = {entry: i for i, entry in enumerate(self.entries)}
        owners = np.array([index.get(label, -1) for label in labels], dtype=np.int64)
        order = np.argsort(owners[owners >= 0], kind="stable")
        # entry examples grouped by entry, so one `maximum.reduceat` gives the best per entry
        self._examples = embeddings[owners >= 0][order]
        counts = np.bincount(owners[owners >= 0], minlength=len(self.entries))
        self._starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self._weights, self._bias, self.converged = _fit(embeddings, labels, self.entries, c)

    def __len__(self) -> int:
        return len(self.entries)

    def with_examples(self, embeddings: np.ndarray, labels: Sequence[str]) -> FaqModel:
        """A new model with these examples added (a new entry, or more questions for one)."""
        both = np.vstack([self._all, np.asarray(embeddings, dtype=np.float32)])
        return FaqModel(both, [*self._labels, *labels], c=self.c)

    def scores(self, embeddings: np.ndarray) -> Scores:
        """Probabilities and best similarities for a batch of message embeddings."""
        queries = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
        n, k = len(queries), len(self.entries)
        if k == 0:
            empty = np.zeros((n, 0), dtype=np.float32)
            return Scores(self.entries, empty, empty)
        if self._weights is None:  # a single entry and no oos examples
            probabilities = np.ones((n, 1), dtype=np.float32)
        else:
            logits = queries @ self._weights.T + self._bias
            logits -= logits.max(axis=1, keepdims=True)
            exp = np.exp(logits)
            probabilities = (exp / exp.sum(axis=1, keepdims=True))[:, :k]
        similarities = np.empty((n, k), dtype=np.float32)
        step = max(1, CHUNK // max(1, len(self._examples)))
        for start in range(0, n, step):
            block = queries[start : start + step] @ self._examples.T
            similarities[start : start + step] = np.maximum.reduceat(block, self._starts, axis=1)
        return Scores(self.entries, probabilities, similarities)

    def decide(self, embedding: np.ndarray, policy: Policy) -> Decision:
        return self.decide_many(np.atleast_2d(embedding), policy)[0]

    def decide_many(self, embeddings: np.ndarray, policy: Policy) -> list[Decision]:
        scores = self.scores(embeddings)
        ranked = rank(scores)
        return decisions(scores, ranked, actions(ranked, policy), policy)


def _fit(
    embeddings: np.ndarray, labels: list[str], entries: tuple[str, ...], c: float
) -> tuple[np.ndarray | None, np.ndarray | None, bool]:
    """Weights and bias of the class-balanced multinomial logistic regression, rows ordered as
    `entries` then `oos`, so that softmax(x @ W.T + b)[:, :len(entries)] are the entries'.

    Class-balanced, because entries have different numbers of example questions (and `oos` may
    have many) and that count should not act as a prior. None when there is one class."""
    classes = [*entries, OOS] if OOS in labels else list(entries)
    if len(classes) < 2:
        return None, None, True
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=MAX_ITER, tol=TOLERANCE)
    # One BLAS thread: the products are small, and threads fighting over 2 shared cores made the
    # city's 0.1 s fit take 1.5-16 s (CLINC150's fit, too, is faster on one: 8 s against 13 s).
    with threadpool_limits(limits=1), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(embeddings, labels)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # binary: sigmoid(w.x + b) == softmax([0, w.x + b])
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    row = {str(label): i for i, label in enumerate(model.classes_)}
    order = [row[name] for name in classes]
    return (
        coef[order].astype(np.float32),
        intercept[order].astype(np.float32),
        converged,
    )


def rank(scores: Scores, top: int = 3) -> Ranked:
    """The `top` most probable entries of each message (argpartition: 5,000 entries stay cheap)."""
    probabilities, similarities = scores.probabilities, scores.similarities
    n, k = probabilities.shape
    index = np.full((n, top), -1, dtype=np.int64)
    if k:
        keep = min(top, k)
        if k > keep:
            best = np.argpartition(-probabilities, keep - 1, axis=1)[:, :keep]
        else:
            best = np.tile(np.arange(k), (n, 1))
        rows = np.arange(n)[:, None]
        order = np.argsort(-probabilities[rows, best], axis=1, kind="stable")
        index[:, :keep] = best[rows, order]
    rows = np.arange(n)[:, None]
    safe = np.maximum(index, 0)
    missing = index < 0
    probability = np.where(missing, 0.0, probabilities[rows, safe] if k else 0.0)
    similarity = np.where(missing, -1.0, similarities[rows, safe] if k else -1.0)
    return Ranked(index, probability, similarity)


def _contenders(ranked: Ranked, policy: Policy) -> np.ndarray:
    """n x 3: which of the top entries are worth offering to the citizen.

    The best one if it is similar enough; a runner-up if it is similar enough too and either
    within `margin` of the best or holding half the threshold (two entries sharing the mass of
    one confident answer)."""
    p, similar = ranked.probability, ranked.similarity >= policy.min_similarity
    close = (p > p[:, :1] - policy.margin) | (p >= policy.threshold / 2)
    contenders = similar & close & (ranked.index >= 0)
    contenders[:, 0] = similar[:, 0] & (ranked.index[:, 0] >= 0)
    return contenders


def actions(ranked: Ranked, policy: Policy) -> np.ndarray:
    """ESCALATE / ANSWER / CLARIFY per message.

    - answer: the best entry has p >= threshold, beats the runner-up by >= margin, and the
      message is similar enough to one of its examples;
    - clarify: no single answer, but 2-3 similar-enough contenders together hold >= threshold
      (the message is about one of them; we do not know which);
    - escalate: everything else.
    """
    p = ranked.probability
    similar = ranked.similarity[:, 0] >= policy.min_similarity
    answer = similar & (p[:, 0] >= policy.threshold) & (p[:, 0] - p[:, 1] >= policy.margin)
    contenders = _contenders(ranked, policy)
    mass = (p * contenders).sum(axis=1)
    clarify = ~answer & (contenders.sum(axis=1) >= 2) & (mass >= policy.threshold)
    return np.where(answer, ANSWER, np.where(clarify, CLARIFY, ESCALATE))


def decisions(scores: Scores, ranked: Ranked, codes: np.ndarray, policy: Policy) -> list[Decision]:
    """`Decision` objects (with the candidates to show) from the arrays."""
    contenders = _contenders(ranked, policy)
    result = []
    for row, code in enumerate(codes):
        columns = [c for c in range(ranked.index.shape[1]) if ranked.index[row, c] >= 0]
        if code == ANSWER:
            columns = columns[:1]
        elif code == CLARIFY:
            columns = [c for c in columns if contenders[row, c]]
        candidates = tuple(
            Candidate(
                scores.entries[ranked.index[row, c]],
                float(ranked.probability[row, c]),
                float(ranked.similarity[row, c]),
            )
            for c in columns
        )
        result.append(Decision(ACTIONS[code], candidates))
    return result


def figures(
    codes: np.ndarray, predicted: Sequence[str | None], truth: Sequence[str]
) -> dict[str, float | None]:
    """The `townhall eval faq` figures for decisions against true labels (`oos` = escalate).

    A clarification is neither an answer nor an escalation; None where a rate has no
    denominator (no out-of-scope messages, nothing escalated, nothing answered)."""
    truth_array = np.asarray(truth, dtype=object)
    right = np.asarray(predicted, dtype=object) == truth_array
    return _figures(np.asarray(codes), right, truth_array != OOS)


def _figures(codes: np.ndarray, right: np.ndarray, in_scope: np.ndarray) -> dict[str, float | None]:
    answered, escalated = codes == ANSWER, codes == ESCALATE

    def rate(part: np.ndarray, whole: np.ndarray) -> float | None:
        return round(float(part.sum() / whole.sum()), 4) if whole.any() else None

    return {
        "n": len(codes),
        "in_scope_accuracy": rate(answered & right & in_scope, in_scope),
        "oos_recall": rate(escalated & ~in_scope, ~in_scope),
        "oos_precision": rate(escalated & ~in_scope, escalated),
        "answered_wrong_rate": rate(answered & ~right, answered),
        "clarify_rate": rate(codes == CLARIFY, np.ones(len(codes), dtype=bool)),
        "answered_rate": rate(answered, np.ones(len(codes), dtype=bool)),
    }


def predicted_entries(scores: Scores, ranked: Ranked) -> list[str | None]:
    """The best entry of every message (what an answer would say), None when there is none."""
    return [scores.entries[i] if i >= 0 else None for i in ranked.index[:, 0]]


THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.05, 0.96, 0.01))
MARGINS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)


@dataclass(frozen=True)
class Calibration:
    threshold: float
    margin: float
    target_wrong_rate: float
    met_target: bool  # False: no setting held the target; these are the fewest wrong answers
    figures: dict[str, float | None]


def calibrate(
    scores: Scores,
    truth: Sequence[str],
    *,
    min_similarity: float = MIN_SIMILARITY,
    target_wrong_rate: float = 0.03,
    thresholds: Sequence[float] = THRESHOLDS,
    margins: Sequence[float] = MARGINS,
) -> Calibration:
    """The threshold and margin with the best in-scope accuracy whose wrong-answer rate stays
    at or under `target_wrong_rate` (an answer to an `oos` message counts as wrong).

    Ties go to the higher out-of-scope recall, then the fewer clarifications, then the higher
    (safer) threshold. Score `scores` on labelled messages the model was *not* fitted on (a
    validation file, or out-of-fold scores): on its own examples every model looks sure."""
    if len(truth) != len(scores.probabilities):
        raise ValueError("one true label per scored message")
    if not len(truth):
        raise ValueError("calibration needs labelled messages")
    ranked = rank(scores)
    truth_array = np.asarray(truth, dtype=object)
    right = np.asarray(predicted_entries(scores, ranked), dtype=object) == truth_array
    in_scope = truth_array != OOS
    best: tuple[tuple[float, ...], Calibration] | None = None
    for threshold in thresholds:
        for margin in margins:
            policy = Policy(float(threshold), float(margin), min_similarity)
            found = _figures(actions(ranked, policy), right, in_scope)
            wrong = found["answered_wrong_rate"] or 0.0
            met = wrong <= target_wrong_rate + 1e-12
            key = (
                float(met),
                -wrong if not met else 0.0,
                found["in_scope_accuracy"] or 0.0,
                found["oos_recall"] or 0.0,
                -(found["clarify_rate"] or 0.0),
                float(threshold),
            )
            if best is None or key > best[0]:
                result = Calibration(float(threshold), float(margin), target_wrong_rate, met, found)
                best = (key, result)
    assert best is not None
    return best[1]
