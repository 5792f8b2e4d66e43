"""`townhall eval faq` end to end with a stand-in encoder (word hashing): no model is loaded."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import townhall.cli_ml as cli_ml
from responders.faq_eval import evaluate_faq
from responders.faq_match import OOS, Policy
from townhall.cli import app
from townhall.settings import FaqSettings

KEYS = {
    "n", "in_scope_accuracy", "oos_recall", "oos_precision", "answered_wrong_rate",
    "clarify_rate", "msgs_per_s",
}  # fmt: skip
TOPICS = {
    "trash": ["garbage", "trash", "bin", "pickup", "collection"],
    "parking": ["parking", "ticket", "fine", "meter", "car"],
    "pothole": ["pothole", "road", "hole", "street", "asphalt"],
}
OTHER = ["weather", "movie", "recipe", "guitar", "holiday", "football", "poem", "song"]


class WordHashEncoder:
    """Unit-length bags of hashed words: texts sharing words are similar, as with a real one."""

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.split():
                vectors[row, zlib.crc32(word.encode()) % 64] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-9)


def _rows(seed: int, per_topic: int, oos: int) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    rows = [
        (" ".join(rng.choice(words, 3)), label)
        for label, words in TOPICS.items()
        for _ in range(per_topic)
    ]
    rows += [(" ".join(rng.choice(OTHER, 3)), OOS) for _ in range(oos)]
    return rows


def test_evaluation_figures_and_baseline() -> None:
    result = evaluate_faq(
        _rows(0, 12, 6), _rows(1, 6, 6), WordHashEncoder().encode, Policy(0.45, 0.05, 0.4)
    )
    assert result.keys() >= KEYS and result["baseline"].keys() >= KEYS
    assert result["n"] == result["baseline"]["n"] == 24
    assert result["in_scope_accuracy"] >= 0.8
    assert result["oos_recall"] >= 0.8
    assert (result["threshold"], result["margin"], result["min_similarity"]) == (0.45, 0.05, 0.4)
    assert result["kb"]["entries"] == 3 and result["kb"]["oos_examples"] == 6
    json.dumps(result, allow_nan=False)  # valid JSON: no NaN


def test_cli_prints_one_json_object_with_the_bot_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb, data = tmp_path / "kb.jsonl", tmp_path / "data.jsonl"
    for path, rows in ((kb, _rows(0, 12, 6)), (data, _rows(1, 6, 0))):
        path.write_text("".join(json.dumps({"text": t, "label": lb}) + "\n" for t, lb in rows))
    monkeypatch.setattr(cli_ml, "_minilm", lambda backend: WordHashEncoder())
    result = CliRunner().invoke(app, ["eval", "faq", "--kb", str(kb), "--data", str(data)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    defaults = FaqSettings()
    assert printed["threshold"] == defaults.threshold
    assert printed["margin"] == defaults.margin
    assert printed["oos_recall"] is None  # no oos messages in the data
    overridden = CliRunner().invoke(
        app, ["eval", "faq", "--kb", str(kb), "--data", str(data), "--threshold", "0.9"]
    )
    assert json.loads(overridden.stdout)["threshold"] == 0.9
