"""The FAQ decision on small synthetic embeddings: no model is loaded, every test is fast."""

from __future__ import annotations

import numpy as np
import pytest

import responders.faq_match as faq_match
from responders.faq_match import (
    MIN_SIMILARITY,
    OOS,
    FaqModel,
    Policy,
    Scores,
    calibrate,
    figures,
    rank,
)
from townhall.settings import FaqSettings

DIM = 24
POLICY = Policy(threshold=0.45, margin=0.05, min_similarity=0.4)


def unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.atleast_2d(vectors).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def topic(index: int) -> np.ndarray:
    """Orthogonal directions: topic i is unrelated to topic j."""
    return np.eye(DIM, dtype=np.float32)[index]


def examples(center: np.ndarray, count: int, seed: int, noise: float = 0.25) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return unit(center + noise * rng.normal(size=(count, DIM)) / np.sqrt(DIM))


def knowledge_base(entries: int, per_entry: int = 6) -> tuple[np.ndarray, list[str]]:
    rows = [examples(topic(i), per_entry, seed=i) for i in range(entries)]
    labels = [f"entry-{i}" for i in range(entries) for _ in range(per_entry)]
    return np.vstack(rows), labels


def test_a_paraphrase_is_answered_with_its_entry() -> None:
    model = FaqModel(*knowledge_base(5))
    decision = model.decide(examples(topic(2), 1, seed=99)[0], POLICY)
    assert decision.action == "answer"
    assert decision.entry == "entry-2"
    assert decision.candidates[0].probability >= POLICY.threshold


def test_a_message_unlike_every_entry_is_escalated() -> None:
    model = FaqModel(*knowledge_base(5))
    decision = model.decide(topic(20), POLICY)
    assert decision.action == "escalate"
    assert decision.entry is None
    assert len(decision.candidates) == 3  # the closest entries, as suggestions for staff


@pytest.mark.parametrize("entries", [1, 2])
def test_tiny_knowledge_bases_still_escalate_the_unknown(entries: int) -> None:
    """With 1-2 entries the probabilities alone always pick one: the similarity guard decides."""
    model = FaqModel(*knowledge_base(entries))
    assert model.decide(topic(20), POLICY).action == "escalate"
    assert model.decide(unit(topic(0) + 0.1 * topic(20))[0], POLICY).entry == "entry-0"


def test_entries_with_a_single_example_each() -> None:
    model = FaqModel(*knowledge_base(4, per_entry=1))
    for i in range(4):
        assert model.decide(topic(i), POLICY).entry == f"entry-{i}"
    assert model.decide(topic(20), POLICY).action == "escalate"


def test_two_entries_asked_the_same_way_get_a_clarifying_question() -> None:
    vectors, labels = knowledge_base(4)
    twin = vectors[:6]  # a second entry with the same questions as entry-0
    model = FaqModel(np.vstack([vectors, twin]), [*labels, *["entry-twin"] * 6])
    decision = model.decide(examples(topic(0), 1, seed=99)[0], POLICY)
    assert decision.action == "clarify"
    assert {c.entry for c in decision.candidates} == {"entry-0", "entry-twin"}
    assert decision.entry is None


def test_oos_examples_teach_the_model_what_to_escalate() -> None:
    vectors, labels = knowledge_base(3)
    # complaints about a topic the FAQ does not cover, close to entry-0's questions
    near = unit(topic(0) + 1.2 * topic(10))[0]
    without = FaqModel(vectors, labels)
    assert without.decide(near, POLICY).entry == "entry-0"
    with_oos = FaqModel(
        np.vstack([vectors, examples(unit(topic(0) + 1.5 * topic(10))[0], 8, seed=7)]),
        [*labels, *[OOS] * 8],
    )
    assert OOS not in with_oos.entries
    assert with_oos.decide(near, POLICY).action == "escalate"
    assert with_oos.decide(topic(1), POLICY).entry == "entry-1"


def test_one_entry_with_oos_examples_is_a_yes_or_no_question() -> None:
    model = FaqModel(
        np.vstack([examples(topic(0), 5, 1), examples(topic(1), 5, 2)]),
        ["only"] * 5 + [OOS] * 5,
    )
    assert model.entries == ("only",)
    assert model.decide(topic(0), POLICY).entry == "only"
    assert model.decide(topic(1), POLICY).action == "escalate"


def test_adding_an_entry_rebuilds_the_model() -> None:
    model = FaqModel(*knowledge_base(3))
    assert model.decide(topic(7), POLICY).action == "escalate"
    bigger = model.with_examples(examples(topic(7), 4, seed=3), ["new"] * 4)
    assert bigger.decide(topic(7), POLICY).entry == "new"
    assert len(bigger) == 4 and len(model) == 3  # the old model is untouched


def test_empty_knowledge_base_escalates_without_suggestions() -> None:
    for model in (FaqModel(np.zeros((0, DIM)), []), FaqModel(examples(topic(0), 3, 1), [OOS] * 3)):
        decision = model.decide(topic(0), POLICY)
        assert decision.action == "escalate" and decision.candidates == ()


def test_batches_and_single_messages_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    model = FaqModel(*knowledge_base(6))
    messages = np.vstack([examples(topic(i % 8), 3, seed=50 + i) for i in range(8)])
    one_by_one = [model.decide(m, POLICY) for m in messages]
    monkeypatch.setattr(faq_match, "CHUNK", 40)  # force several similarity blocks
    batch = model.decide_many(messages, POLICY)
    assert [d.action for d in batch] == [d.action for d in one_by_one]
    for together, alone in zip(batch, one_by_one, strict=True):
        assert [c.entry for c in together.candidates] == [c.entry for c in alone.candidates]
        assert [c.probability for c in together.candidates] == pytest.approx(
            [c.probability for c in alone.candidates], abs=1e-5
        )


def test_rank_orders_entries_by_probability() -> None:
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(50), size=7).astype(np.float32)
    ranked = rank(Scores(tuple(map(str, range(50))), probabilities, probabilities), top=3)
    expected = np.argsort(-probabilities, axis=1)[:, :3]
    assert (ranked.index == expected).all()
    small = rank(Scores(("a",), np.ones((1, 1)), np.ones((1, 1))))
    assert small.index.tolist() == [[0, -1, -1]] and small.probability[0, 1] == 0


def test_figures_follow_the_definitions() -> None:
    codes = np.array([1, 1, 1, 2, 0, 0, 1])  # answer, answer, answer, clarify, escalate x2, answer
    predicted = ["a", "b", "a", "a", "b", "a", "c"]
    truth = ["a", "a", "a", "b", OOS, "b", OOS]
    result = figures(codes, predicted, truth)
    assert result["n"] == 7
    assert result["in_scope_accuracy"] == round(2 / 5, 4)  # a, a right; b wrong; clarify; esc.
    assert result["oos_recall"] == 0.5  # one of two oos escalated, the other answered
    assert result["oos_precision"] == 0.5  # one of two escalations was oos
    assert result["answered_wrong_rate"] == 0.5  # b and the answered oos, out of 4
    assert result["clarify_rate"] == round(1 / 7, 4)
    no_oos = figures(np.array([1]), ["a"], ["a"])
    assert no_oos["oos_recall"] is None and no_oos["oos_precision"] is None


def _scores_for_calibration() -> tuple[Scores, list[str]]:
    """Confident right answers, hesitant wrong ones, and oos messages in between."""
    rng = np.random.default_rng(1)
    entries = ("a", "b")
    rows, truth = [], []
    for _ in range(90):  # right, p1 in [0.6, 0.95]
        p = rng.uniform(0.6, 0.95)
        rows.append([p, 1 - p])
        truth.append("a")
    for _ in range(10):  # wrong, p1 in [0.4, 0.55]
        p = rng.uniform(0.4, 0.55)
        rows.append([p, 1 - p])
        truth.append("b")
    for _ in range(20):  # out of scope, p1 in [0.5, 0.7]
        p = rng.uniform(0.5, 0.7)
        rows.append([p, 1 - p])
        truth.append(OOS)
    probabilities = np.array(rows, dtype=np.float32)
    return Scores(entries, probabilities, np.ones_like(probabilities)), truth


def test_calibration_holds_the_wrong_answer_rate_and_keeps_accuracy() -> None:
    scores, truth = _scores_for_calibration()
    result = calibrate(scores, truth, target_wrong_rate=0.03)
    assert result.met_target
    assert result.figures["answered_wrong_rate"] <= 0.03
    assert 0.55 < result.threshold <= 0.7  # above the wrong answers, not far above the oos
    # nothing with at most 3% wrong answers does better
    for threshold in (0.5, 0.6, 0.65, 0.7, 0.8):
        other = calibrate(scores, truth, thresholds=[threshold], margins=[0.0])
        if other.met_target:
            assert other.figures["in_scope_accuracy"] <= result.figures["in_scope_accuracy"]


def test_calibration_reports_an_unreachable_target() -> None:
    scores, truth = _scores_for_calibration()
    result = calibrate(scores, truth, target_wrong_rate=0.0, thresholds=[0.3, 0.5])
    assert not result.met_target
    assert result.threshold == 0.5  # the fewer wrong answers


def test_the_bot_and_the_evaluation_share_the_similarity_default() -> None:
    assert FaqSettings().min_similarity == MIN_SIMILARITY
