"""Measuring the category classifier against a TF-IDF + logistic regression baseline.

Both are trained on the same train rows and scored on the same evaluation rows in the same run,
so the comparison does not depend on the machine or the split. The evaluation file is used
for nothing but the final scores: the category model picks its C by cross-validation on the
train rows.

The baseline is the usual strong bag-of-words model: word 1-2 grams with sublinear tf, and
class-balanced weights like the model it is compared with (without them it mostly predicts
the largest class, which would make the comparison look better than it is).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from classifiers.category import Category, CategoryModel, Encode
from classifiers.datasets import read_rows
from classifiers.metrics import scores

__all__ = ["baseline", "evaluate_category", "evaluate_files", "read_rows", "train_model"]

Row = tuple[str, str]
KEYS = ("macro_f1", "accuracy")


def label_categories(labels: Sequence[str]) -> list[Category]:
    """Each label name as a one-line category description.

    The product starts every category from a description; on a benchmark the label names are
    the only description there is ("Street Light Issue"). They are a weak prior that mostly
    helps classes with a handful of examples.
    """
    return [Category(label, label, label, ()) for label in sorted(set(labels))]


def _figures(truth: list[str], predicted: list[str], seconds: float) -> dict[str, float]:
    names = sorted(set(truth) | set(predicted))
    index = {name: i for i, name in enumerate(names)}
    figures = scores([index[t] for t in truth], [index[p] for p in predicted])
    return {
        "n": len(truth),
        **{key: figures[key] for key in KEYS},
        "msgs_per_s": round(len(truth) / max(seconds, 1e-9), 1),
    }


def baseline(train_rows: Sequence[Row], eval_rows: Sequence[Row], *, seed: int = 0
             ) -> dict[str, float]:
    """TF-IDF (word 1-2 grams, sublinear tf) + class-balanced logistic regression."""
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    features = vectorizer.fit_transform([text for text, _ in train_rows])
    model = LogisticRegression(class_weight="balanced", max_iter=3000, random_state=seed)
    model.fit(features, [label for _, label in train_rows])
    started = time.perf_counter()
    predicted = model.predict(vectorizer.transform([text for text, _ in eval_rows]))
    seconds = time.perf_counter() - started
    return _figures([label for _, label in eval_rows], [str(p) for p in predicted], seconds)


def train_model(train_rows: Sequence[Row], encode: Encode, *, seed: int = 0) -> CategoryModel:
    """The evaluation's own model: trained on the train rows, label names as descriptions."""
    texts = [text for text, _ in train_rows]
    labels = [label for _, label in train_rows]
    return CategoryModel.train(
        texts, labels, encode, seed=seed, categories=label_categories(labels)
    )


def evaluate_category(
    train_rows: Sequence[Row], eval_rows: Sequence[Row], encode: Encode, *, seed: int = 0
) -> dict:
    """`n`, `macro_f1`, `accuracy`, `msgs_per_s` of the model, and the same under `baseline`.

    `msgs_per_s` counts evaluation texts per second including their encoding, because that is
    what the category costs in the running bot when it has its own encoder pass (in the
    pipeline it reuses the encoder stage's embeddings and is far cheaper).
    """
    if not train_rows or not eval_rows:
        raise ValueError("both the train and the evaluation rows must be non-empty")
    model = train_model(train_rows, encode, seed=seed)
    started = time.perf_counter()
    texts = [text for text, _ in eval_rows]
    predicted = model.predict(np.asarray(encode(texts), dtype=np.float32), texts)
    seconds = time.perf_counter() - started
    result = _figures([label for _, label in eval_rows], predicted, seconds)
    result["baseline"] = baseline(train_rows, eval_rows, seed=seed)
    return result


def evaluate_files(train_path: Path | str, data_path: Path | str, encode: Encode) -> dict:
    """`townhall eval category --train TRAIN --data FILE`: the figures for two JSONL files."""
    return evaluate_category(read_rows(train_path), read_rows(data_path), encode)
