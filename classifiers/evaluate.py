"""Evaluations of the tweet model's heads (sentiment, abuse) on any labelled JSONL file.

Each returns the dictionary that `townhall eval ...` prints as JSON. Throughput is measured on
the same run, over the whole file, batched as the bot batches under load.
"""

from __future__ import annotations

import time
from pathlib import Path

from classifiers.affect import TweetStage
from classifiers.metrics import scores
from classifiers.training import read_labelled
from classifiers.tweet_model import TASKS

# VADER's documented thresholds on the compound score
VADER_POSITIVE = 0.05
VADER_NEGATIVE = -0.05


def evaluate_head(
    task: str, data: Path, model_dir: Path, onnx_cache: Path | None = None
) -> dict[str, object]:
    """Figures of one head; with `onnx_cache` the model runs in ONNX Runtime, as the bot does."""
    rows = read_labelled(data, TASKS[task].labels)
    stage = TweetStage(model_dir, onnx_cache=onnx_cache)
    texts = [text for text, _ in rows]
    started = time.perf_counter()
    probabilities = stage.predict_proba(texts)[task]
    elapsed = time.perf_counter() - started
    figures = scores([label for _, label in rows], probabilities.argmax(axis=1).tolist())
    if task == "abuse":
        figures.pop("macro_recall")
    return {
        "n": len(rows),
        **figures,
        "msgs_per_s": round(len(rows) / elapsed, 1),
        "model": stage.model_id,
        "backend": "onnx" if onnx_cache else "torch",
    }


def vader_baseline(data: Path) -> dict[str, object]:
    """VADER (a lexicon many listening tools use), with its standard compound thresholds."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    rows = read_labelled(data, TASKS["sentiment"].labels)
    analyzer = SentimentIntensityAnalyzer()
    started = time.perf_counter()
    predicted = []
    for text, _ in rows:
        compound = analyzer.polarity_scores(text)["compound"]
        label = 2 if compound >= VADER_POSITIVE else 0 if compound <= VADER_NEGATIVE else 1
        predicted.append(label)
    elapsed = time.perf_counter() - started
    return {
        "n": len(rows),
        **scores([label for _, label in rows], predicted),
        "msgs_per_s": round(len(rows) / elapsed, 1),
        "model": "vader-3.3.2",
    }
