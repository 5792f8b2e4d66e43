"""The fine-tuned tweet model: training writes a small artifact that reloads; the committed one
does what its model card says."""

import json
from pathlib import Path

import numpy as np
import pytest

from classifiers.affect import DEFAULT_MODEL, TweetStage
from classifiers.training import read_labelled, refit_abuse_head, train_tweet_model
from classifiers.tweet_model import TASKS, TweetModel, predict_proba
from townhall.domain import Classification

MAX_ARTIFACT_BYTES = 25 * 1024 * 1024

SENTIMENT = [
    ("I love the new playground, thank you so much!", 2),
    ("Great job fixing the road so quickly", 2),
    ("The council meeting is on Tuesday at 7pm.", 1),
    ("Bins are collected on Mondays in my area.", 1),
    ("This is the worst service I have ever had, I'm furious", 0),
    ("Nobody answers the phone, totally useless", 0),
]
ABUSE = [
    ("thanks for the quick reply", 0),
    ("the park looks lovely today", 0),
    ("you are a worthless idiot, shut up", 1),
    ("go to hell you stupid clowns", 1),
]


def _write(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows))
    return path


def test_training_writes_an_artifact_that_reloads(tmp_path: Path) -> None:
    sentiment = _write(tmp_path / "s.jsonl", SENTIMENT * 3)
    abuse = _write(tmp_path / "a.jsonl", ABUSE * 3)
    out = tmp_path / "tweet-v9"
    card = train_tweet_model(
        {"sentiment": sentiment, "abuse": abuse}, {"sentiment": sentiment, "abuse": abuse},
        out, batch_size=6, seed=1,
    )
    assert card["name"] == "tweet" and card["version"] == "9"
    assert set(card["validation_metrics"]) == {"sentiment", "abuse"}
    assert set(card["calibration"]) == {"sentiment", "abuse"}
    assert (out / "weights.safetensors").stat().st_size <= MAX_ARTIFACT_BYTES
    model, tokenizer, loaded_card = TweetModel.load(out)
    assert loaded_card["validation_metrics"] == card["validation_metrics"]
    probabilities = predict_proba(model, tokenizer, ["hello", "what a mess", "x" * 500])
    assert probabilities["sentiment"].shape == (3, 3)
    assert np.allclose(probabilities["abuse"].sum(axis=1), 1.0, atol=1e-5)

    civic = ["when is garbage day", "where do I dump old paint", "the trash was not picked up"]
    refit = refit_abuse_head(out, abuse, abuse, civic)
    assert refit["abuse_head"]["civic_not_offensive_examples"] == 3
    assert refit["validation_metrics"]["sentiment"] == card["validation_metrics"]["sentiment"]
    model, tokenizer, _ = TweetModel.load(out)
    assert predict_proba(model, tokenizer, civic)["abuse"].shape == (3, 2)


def test_labels_by_index_or_name_and_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a", "label": 2}\n{"text": "b", "label": "Negative"}\n\n')
    assert read_labelled(path, TASKS["sentiment"].labels) == [("a", 2), ("b", 0)]
    path.write_text('{"text": "a", "label": "angry"}\n')
    with pytest.raises(ValueError, match=r"d.jsonl:1: unknown label 'angry'"):
        read_labelled(path, TASKS["sentiment"].labels)


def test_committed_artifact_meets_its_targets_and_size() -> None:
    card = json.loads((DEFAULT_MODEL / "model_card.json").read_text())
    metrics = card["validation_metrics"]
    assert metrics["sentiment"]["calibrated"]["macro_recall"] >= 0.73
    assert metrics["sentiment"]["cross_fitted"]["macro_recall"] >= 0.73
    assert metrics["abuse"]["calibrated"]["macro_f1"] >= 0.77
    assert (DEFAULT_MODEL / "weights.safetensors").stat().st_size <= MAX_ARTIFACT_BYTES


def test_stage_labels_messages_and_names_its_model(models) -> None:
    stage: TweetStage = models.tweet
    texts = [t for t, _ in SENTIMENT] + [t for t, _ in ABUSE]
    results = [Classification() for _ in texts]
    stage.classify(texts, results)
    sentiments = [r.labels["sentiment"] for r in results[: len(SENTIMENT)]]
    expected = [TASKS["sentiment"].labels[y] for _, y in SENTIMENT]
    assert sum(a == b for a, b in zip(sentiments, expected, strict=True)) >= 5
    abuse = [r.labels["abuse"] for r in results[len(SENTIMENT) :]]
    assert abuse == ["not_offensive", "not_offensive", "offensive", "offensive"]
    assert results[0].models["sentiment"] == stage.model_id == "tweet-v1"
    assert 0.0 < results[0].scores["sentiment"] <= 1.0
