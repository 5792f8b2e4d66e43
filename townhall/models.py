"""The models the bot runs, loaded once per process (or per test session).

Loading takes seconds: the sentence encoder, the tweet model (sentiment and abuse), the
multilingual sentiment model and language identification. `Models.stages` arranges them into
the classifier pipeline; the knowledge base's example embeddings are remembered here so that an
app rebuilt in the same process (a test, a reload) does not encode them again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from classifiers.affect import DEFAULT_MODEL, TweetStage
from classifiers.base import Stage
from classifiers.encoder import MiniLMEncoder, sentence_encoder
from classifiers.language import LanguageStage
from classifiers.multilingual import DEFAULT_MODEL as MULTILINGUAL_MODEL
from classifiers.multilingual import MultilingualSentimentStage
from classifiers.onnx_backend import OnnxEncoder
from classifiers.pipeline import Parallel
from townhall.settings import ONNX_CACHE, Settings

log = logging.getLogger(__name__)

Encoder = MiniLMEncoder | OnnxEncoder


@dataclass
class Models:
    """The loaded models. Loading takes seconds, so a process (or a test session) does it once."""

    encoder: Encoder
    language: LanguageStage
    tweet: TweetStage | None = None
    multilingual: MultilingualSentimentStage | None = None
    _examples: dict[tuple[str, str], np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, backend: str = "onnx", cache_dir: Path = ONNX_CACHE) -> Models:
        """Load every model; `backend` "onnx" runs both encoders in ONNX Runtime (exported to
        `cache_dir` on first use), "torch" runs them in eager torch."""
        onnx_cache = cache_dir if backend == "onnx" else None
        tweet = None
        if (DEFAULT_MODEL / "weights.safetensors").exists():
            tweet = TweetStage(DEFAULT_MODEL, onnx_cache=onnx_cache)
        else:
            log.warning("no tweet model at %s: sentiment and abuse are off", DEFAULT_MODEL)
        multilingual = None
        if (MULTILINGUAL_MODEL / "head.npz").exists():
            multilingual = MultilingualSentimentStage(MULTILINGUAL_MODEL)
        encoder = sentence_encoder(backend, cache_dir)
        return cls(
            encoder=encoder, language=LanguageStage(), tweet=tweet, multilingual=multilingual
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Models:
        return cls.load(settings.classifiers.backend, settings.classifiers.onnx_cache)

    def stages(self, category: Stage) -> list[Stage]:
        """The pipeline's stages in dependency order. With ONNX Runtime the two encoders run
        side by side (one core each); torch already spreads each over every core."""
        encoders: list[Stage] = [self.encoder] + ([self.tweet] if self.tweet else [])
        onnx = isinstance(self.encoder, OnnxEncoder)
        stages: list[Stage] = [self.language]
        stages += [Parallel(*encoders)] if onnx and len(encoders) > 1 else encoders
        stages.append(category)  # reads the embedding
        if self.multilingual is not None:
            stages.append(self.multilingual)  # reads the language
        return stages

    def encode_examples(self, texts: list[str]) -> np.ndarray:
        """Embeddings of knowledge-base examples, remembered: a rebuilt app reuses them."""
        return self._remembered("minilm", self.encoder.encode, texts)

    def encode_examples_multilingual(self, texts: list[str]) -> np.ndarray:
        """The same with multilingual-e5, for matching messages that are not in English."""
        assert self.multilingual is not None
        return self._remembered("e5", self.multilingual.encoder.encode, texts)

    def _remembered(
        self, kind: str, encode: Callable[[list[str]], np.ndarray], texts: list[str]
    ) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if (kind, t) not in self._examples]
        if missing:
            vectors = encode(missing)
            self._examples.update(((kind, t), v) for t, v in zip(missing, vectors, strict=True))
        return np.vstack([self._examples[kind, t] for t in texts])
