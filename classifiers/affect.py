"""Sentiment and abuse for every message, from the fine-tuned tweet model (one pass, two heads).

The model was trained on English tweets (TweetEval). Its labels and the probability of the chosen
label are written into each `Classification`, with the model's name and version, so a stored
classification always says what produced it.
"""

from __future__ import annotations

from pathlib import Path

from classifiers.tweet_model import TweetModel, predict_proba
from townhall.domain import Classification

DEFAULT_MODEL = Path(__file__).parent / "models" / "tweet-v1"


class TweetStage:
    name = "tweet"

    def __init__(self, directory: Path = DEFAULT_MODEL, *, batch_size: int = 64):
        self.model, self.tokenizer, self.card = TweetModel.load(directory)
        self.model_id = f"{self.card['name']}-v{self.card['version']}"
        self.batch_size = batch_size

    def classify(self, texts: list[str], results: list[Classification]) -> None:
        probabilities = predict_proba(self.model, self.tokenizer, texts, self.batch_size)
        for task, rows in probabilities.items():
            labels = self.model.tasks[task].labels
            for result, row in zip(results, rows, strict=True):
                best = int(row.argmax())
                result.labels[task] = labels[best]
                result.scores[task] = round(float(row[best]), 4)
                result.models[task] = self.model_id
