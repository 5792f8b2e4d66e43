"""Sentiment and abuse for every message, from the fine-tuned tweet model (one pass, two heads).

The model was trained on English tweets (TweetEval). Its labels and the probability of the chosen
label are written into each `Classification`, with the model's name and version, so a stored
classification always says what produced it.

With `onnx_cache` set, the network runs in ONNX Runtime (exported once from the artifact, same
fp32 weights, same figures) and the torch copy is dropped after the export to save memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from classifiers.tweet_model import MAX_TOKENS, TweetModel, calibrated, predict_proba
from townhall.domain import Classification

DEFAULT_MODEL = Path(__file__).parent / "models" / "tweet-v1"


class TweetStage:
    name = "tweet"

    def __init__(
        self,
        directory: Path = DEFAULT_MODEL,
        *,
        batch_size: int = 32,
        onnx_cache: Path | None = None,
    ):
        model, self.tokenizer, self.card = TweetModel.load(directory)
        self.model_id = f"{self.card['name']}-v{self.card['version']}"
        self.batch_size = batch_size
        self.labels = {name: task.labels for name, task in model.tasks.items()}
        self.biases = dict(model.biases)
        self._torch: TweetModel | None = model
        self._onnx = None
        if onnx_cache is not None:
            from classifiers.onnx_backend import OnnxModel, export_tweet_model

            path = export_tweet_model(model, directory, onnx_cache)
            self._onnx = OnnxModel(path, self.tokenizer, MAX_TOKENS)
            self._torch = None

    def predict_proba(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Calibrated class probabilities per task, one row per text."""
        if self._torch is not None:
            return predict_proba(self._torch, self.tokenizer, texts, self.batch_size)
        assert self._onnx is not None
        if not texts:
            return {task: np.zeros((0, len(labels))) for task, labels in self.labels.items()}
        logits = self._onnx.run(texts, self.batch_size)
        return {task: calibrated(logits[task], self.biases.get(task)) for task in self.labels}

    def classify(self, texts: list[str], results: list[Classification]) -> None:
        for task, rows in self.predict_proba(texts).items():
            labels = self.labels[task]
            for result, row in zip(results, rows, strict=True):
                best = int(row.argmax())
                result.labels[task] = labels[best]
                result.scores[task] = round(float(row[best]), 4)
                result.models[task] = self.model_id
