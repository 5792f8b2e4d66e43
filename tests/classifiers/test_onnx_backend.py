"""The ONNX Runtime backend gives what the torch backend gives, and the pipeline runs the two
encoders side by side without mixing up their results."""

import threading
from pathlib import Path

import numpy as np
import pytest

from classifiers.affect import DEFAULT_MODEL, TweetStage
from classifiers.encoder import MiniLMEncoder
from classifiers.onnx_backend import OnnxEncoder
from classifiers.pipeline import Parallel
from townhall.domain import Classification

TEXTS = [
    "When is my garbage picked up?",
    "The streetlight on Elm Street has been out for a week, this is ridiculous",
    "Thank you for fixing the playground so quickly!",
    "¿Dónde puedo pagar la factura del agua?",
    "Le bruit du chantier commence à 6h du matin",
    "you are all useless idiots",
    "x",
    "🚧🚧🚧 " * 80,  # longer than the encoders' token limit
]


@pytest.fixture(scope="module")
def torch_encoder() -> MiniLMEncoder:
    return MiniLMEncoder()


def test_onnx_embeddings_match_torch(models, torch_encoder: MiniLMEncoder) -> None:
    assert isinstance(models.encoder, OnnxEncoder)
    onnx, reference = models.encoder.encode(TEXTS), torch_encoder.encode(TEXTS)
    assert onnx.shape == reference.shape == (len(TEXTS), 384)
    cosine = (onnx * reference).sum(axis=1)
    assert cosine.min() >= 0.99


def test_onnx_tweet_probabilities_match_torch(models) -> None:
    reference = TweetStage(DEFAULT_MODEL).predict_proba(TEXTS)
    onnx = models.tweet.predict_proba(TEXTS)
    for task, rows in reference.items():
        assert np.abs(onnx[task] - rows).max() < 1e-3
        assert (onnx[task].argmax(axis=1) == rows.argmax(axis=1)).all()
    assert all(len(rows) == 0 for rows in models.tweet.predict_proba([]).values())


def test_export_is_cached_by_the_weights_digest(models, tmp_path: Path) -> None:
    first = OnnxEncoder(tmp_path)
    exported = list(tmp_path.glob("minilm-*.onnx"))
    assert len(exported) == 1
    stamp = exported[0].stat().st_mtime_ns
    second = OnnxEncoder(tmp_path)  # reuses the file
    assert exported[0].stat().st_mtime_ns == stamp
    assert np.allclose(first.encode(TEXTS[:2]), second.encode(TEXTS[:2]))
    assert not list(tmp_path.glob("*.partial"))


class _Recorder:
    def __init__(self, name: str, field: str):
        self.name = name
        self.field = field
        self.threads: set[str] = set()

    def classify(self, texts: list[str], results: list[Classification]) -> None:
        self.threads.add(threading.current_thread().name)
        for text, result in zip(texts, results, strict=True):
            result.labels[self.field] = f"{self.field}:{text}"


def test_parallel_stages_fill_their_own_fields_on_their_own_threads() -> None:
    first, second = _Recorder("a", "first"), _Recorder("b", "second")
    stage = Parallel(first, second)
    texts = ["one", "two", "three"]
    results = [Classification() for _ in texts]
    stage.classify(texts, results)
    assert stage.name == "a+b"
    assert [r.labels for r in results] == [
        {"first": f"first:{t}", "second": f"second:{t}"} for t in texts
    ]
    assert threading.current_thread().name not in first.threads | second.threads


def test_parallel_stage_failure_reaches_the_caller() -> None:
    class Broken:
        name = "broken"

        def classify(self, texts, results) -> None:
            raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        Parallel(_Recorder("a", "first"), Broken()).classify(["x"], [Classification()])
