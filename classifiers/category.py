"""Issue category: which city service a citizen's message is about.

The categories, their descriptions and seed examples live in `config/categories.yaml`. A
`CategoryModel` works from sentence embeddings only, so it runs after the encoder stage and costs
almost nothing per message. It comes in two kinds, one artifact format:

- zero-shot (day one, no labelled data): similarity of the message to each category's
  description and seed examples;
- trained (once labelled messages and staff corrections exist): multinomial logistic regression
  on the frozen embeddings plus word TF-IDF (`category_text`), with the seed examples mixed in so
  a rarely-seen category is never forgotten. This kind also needs the message texts.

Artifacts are an `.npz` of plain arrays plus `model_card.json`: no pickle, so loading a model
file cannot run code, and the card says what the model was trained on and how well it did.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from classifiers.category_fit import fit_logistic
from classifiers.category_text import TextFeatures
from townhall.domain import Classification

log = logging.getLogger(__name__)
Encode = Callable[[list[str]], np.ndarray]
ARRAYS = "model.npz"
CARD = "model_card.json"
KINDS = ("zero_shot", "logistic")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    description: str
    examples: tuple[str, ...]

    def texts(self) -> list[str]:
        """What describes the category: its description, then its seed examples."""
        return [self.description, *self.examples]


def load_categories(path: Path | str) -> list[Category]:
    """Read and check `categories.yaml`; errors name the file and the entry at fault."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("categories"), list):
        raise ValueError(f"{path}: expected a mapping with a `categories` list")
    if data.get("version") != 1:
        raise ValueError(f"{path}: unsupported version {data.get('version')!r} (expected 1)")
    categories: list[Category] = []
    for number, entry in enumerate(data["categories"], 1):
        where = f"{path}: category #{number}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a mapping")
        for key in ("id", "name", "description"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise ValueError(f"{where}: `{key}` must be a non-empty string")
        if not _ID.match(entry["id"]):
            raise ValueError(f"{where}: id {entry['id']!r} must be snake_case")
        examples = entry.get("examples")
        if (
            not isinstance(examples, list)
            or not examples
            or not all(isinstance(e, str) and e.strip() for e in examples)
        ):
            raise ValueError(f"{where} ({entry['id']}): `examples` must be a list of strings")
        categories.append(
            Category(
                entry["id"], entry["name"].strip(), " ".join(entry["description"].split()),
                tuple(e.strip() for e in examples),
            )
        )
    ids = [c.id for c in categories]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"{path}: duplicate category ids {duplicates}")
    if not categories:
        raise ValueError(f"{path}: no categories")
    return categories


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


@dataclass
class CategoryModel:
    """Category probabilities from embeddings; see `zero_shot` and `train` for the two kinds.

    `zero_shot` keeps `prototypes` (embeddings of descriptions and examples) with the index of
    their label in `prototype_labels`; `logistic` keeps `weights` (labels x features) and
    `bias`, and with word features also `vocabulary` and `idf`: its features are the TF-IDF
    columns followed by the embedding. `parameters` records how it was built, for the card.
    """

    labels: list[str]
    kind: str
    arrays: dict[str, np.ndarray]
    name: str = "category"
    version: str = "1"
    parameters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown model kind {self.kind!r}")
        needed = ("prototypes", "prototype_labels") if self.kind == "zero_shot" else (
            "weights", "bias")
        missing = [key for key in needed if key not in self.arrays]
        if missing:
            raise ValueError(f"a {self.kind} model needs arrays {missing}")
        rows = self.arrays["weights"].shape[0] if self.kind == "logistic" else len(
            set(self.arrays["prototype_labels"].tolist()))
        if rows != len(self.labels):
            raise ValueError(f"{len(self.labels)} labels but arrays for {rows}")
        self._text: TextFeatures | None = None
        if "vocabulary" in self.arrays:
            self._text = TextFeatures(self.arrays["vocabulary"].tolist(), self.arrays["idf"])

    @property
    def needs_texts(self) -> bool:
        """True when `predict_proba` needs the texts as well as their embeddings."""
        return self._text is not None

    # --- building ------------------------------------------------------------------------------

    @classmethod
    def zero_shot(
        cls, categories: Sequence[Category], encode: Encode, *, top_k: int = 3,
        temperature: float = 0.05, name: str = "category", version: str = "1",
    ) -> CategoryModel:
        """Score = mean of the `top_k` best cosine similarities to a category's texts.

        Why top-k and not a centroid: a category covers several topics (waste is collection days
        *and* hazardous waste), and a centroid of unlike examples sits between them, close to
        nothing. The best single match is noisy; the mean of the best 3 is the compromise (on
        the FAQ questions: centroid 85%, top-1 79%, top-3 87% right). The description counts
        as one more example. Cosine gaps between categories are small (~0.05-0.15), so the
        softmax temperature is 0.05 to turn them into usable probabilities.
        """
        texts = [text for category in categories for text in category.texts()]
        owners = [i for i, category in enumerate(categories) for _ in category.texts()]
        return cls(
            labels=[c.id for c in categories],
            kind="zero_shot",
            arrays={
                "prototypes": np.asarray(encode(texts), dtype=np.float32),
                "prototype_labels": np.asarray(owners, dtype=np.int32),
            },
            name=name,
            version=version,
            parameters={"kind": "zero_shot", "top_k": top_k, "temperature": temperature,
                        "prototypes": len(texts)},
        )

    @classmethod
    def train(
        cls, texts: Sequence[str], labels: Sequence[str], encode: Encode, *, seed: int = 0,
        C: float | None = None, categories: Sequence[Category] | None = None,
        embeddings: np.ndarray | None = None, text_features: bool = True,
        name: str = "category", version: str = "1",
    ) -> CategoryModel:
        """Logistic regression on frozen embeddings and word TF-IDF (class-weighted: the
        targets are macro averages). `text_features=False` uses the embeddings alone.

        With `categories`, their descriptions and seed examples join the training data and the
        label set is the categories' ids (an unknown label is an error, usually a typo): a
        category with no corrections yet is still learnt from its seeds. `C=None` picks C by
        cross-validation on the training data (see `category_fit`). `embeddings` of `texts`
        may be passed when the caller already has them.
        """
        texts, labels = list(texts), [str(label) for label in labels]
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        own = len(texts)
        vectors = np.asarray(encode(texts) if embeddings is None else embeddings, np.float32)
        if len(vectors) != own:
            raise ValueError(f"{own} texts but {len(vectors)} embeddings")
        if categories is not None:
            known = {c.id for c in categories}
            unknown = sorted(set(labels) - known)
            if unknown:
                raise ValueError(f"labels not among the categories: {unknown}")
            seeds = [(text, c.id) for c in categories for text in c.texts()]
            vectors = np.vstack([vectors, encode([t for t, _ in seeds])]) if seeds else vectors
            texts = texts + [text for text, _ in seeds]
            labels = labels + [label for _, label in seeds]
            order = [c.id for c in categories]
        else:
            order = sorted(set(labels))
        if len(order) < 2:
            raise ValueError("training needs at least two labels")
        words = TextFeatures.fit(texts) if text_features else None
        features = words.combine(texts, vectors) if words else vectors
        index = {label: i for i, label in enumerate(order)}
        fit = fit_logistic(features, [index[label] for label in labels], len(order),
                           C=C, seed=seed)
        arrays = {"weights": fit.weights, "bias": fit.bias}
        if words:
            arrays |= {"vocabulary": np.asarray(words.vocabulary, dtype=str),
                       "idf": words.idf.astype(np.float32)}
        return cls(
            labels=order,
            kind="logistic",
            arrays=arrays,
            name=name,
            version=version,
            parameters={"kind": "logistic", "C": fit.C, "seed": seed,
                        "class_weight": "balanced", "examples": len(labels),
                        "seed_examples": len(labels) - own, "converged": fit.converged,
                        "text_features": {"ngrams": [1, 2], "sublinear_tf": True,
                                          "terms": len(words)} if words else None,
                        "cross_validation": fit.cv_scores},
        )

    # --- predicting ----------------------------------------------------------------------------

    def logits(self, embeddings: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        vectors = np.asarray(embeddings, dtype=np.float32).reshape(-1, self._dimension())
        if self.kind == "logistic":
            weights = self.arrays["weights"]
            if self._text is None:
                return vectors @ weights.T + self.arrays["bias"]
            if texts is None or len(texts) != len(vectors):
                raise ValueError("this category model uses words too: pass the texts")
            features = self._text.combine(texts, vectors)
            return np.asarray(features @ weights.T) + self.arrays["bias"]
        similarity = vectors @ self.arrays["prototypes"].T
        owners = self.arrays["prototype_labels"]
        top_k = int(self.parameters.get("top_k", 3))
        columns = []
        for index in range(len(self.labels)):
            own = similarity[:, owners == index]
            k = min(top_k, own.shape[1])
            columns.append(np.sort(own, axis=1)[:, -k:].mean(axis=1))
        return np.stack(columns, axis=1) / float(self.parameters.get("temperature", 0.05))

    def predict_proba(
        self, embeddings: np.ndarray, texts: Sequence[str] | None = None
    ) -> np.ndarray:
        """One row per embedding, one column per label in `labels`; rows sum to 1.

        `texts` (the messages the embeddings came from) are needed when `needs_texts`.
        """
        return _softmax(self.logits(embeddings, texts).astype(np.float64))

    def predict(self, embeddings: np.ndarray, texts: Sequence[str] | None = None) -> list[str]:
        return [self.labels[i] for i in self.predict_proba(embeddings, texts).argmax(axis=1)]

    def _dimension(self) -> int:
        if self.kind == "zero_shot":
            return int(self.arrays["prototypes"].shape[1])
        return int(self.arrays["weights"].shape[1]) - (len(self._text) if self._text else 0)

    # --- artifact ------------------------------------------------------------------------------

    def save(self, directory: Path | str, card: dict[str, Any]) -> Path:
        """Write `model.npz` and `model_card.json`; `card` adds data, metrics and the like."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            directory / ARRAYS, labels=np.asarray(self.labels, dtype=str), **self.arrays
        )
        full = {
            "name": self.name,
            "version": self.version,
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "data": {},
            "metrics": {},
            **card,
            "kind": self.kind,
            "labels": self.labels,
            "parameters": {**self.parameters, **card.get("parameters", {})},
        }
        text = json.dumps(full, indent=2, ensure_ascii=False, default=str)
        (directory / CARD).write_text(text + "\n", encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: Path | str) -> CategoryModel:
        directory = Path(directory)
        try:
            card = json.loads((directory / CARD).read_text(encoding="utf-8"))
            with np.load(directory / ARRAYS, allow_pickle=False) as stored:
                arrays = {key: stored[key] for key in stored.files}
        except (OSError, ValueError) as exc:
            raise ValueError(f"{directory}: not a category model artifact ({exc})") from exc
        labels = [str(label) for label in arrays.pop("labels", [])]
        if labels != card.get("labels"):
            raise ValueError(f"{directory}: labels in {ARRAYS} and {CARD} disagree")
        return cls(
            labels=labels, kind=str(card.get("kind")), arrays=arrays,
            name=str(card.get("name", directory.name)), version=str(card.get("version", "1")),
            parameters=dict(card.get("parameters", {})),
        )


def build_category_model(
    categories_path: Path | str, encode: Encode, artifact: Path | str | None = None
) -> CategoryModel:
    """The trained artifact if there is one that knows the current categories, else zero-shot.

    A category added to the yaml after the last training would never be predicted by the old
    model, so then the zero-shot model (which reads the yaml) is used until the next training.
    """
    categories = load_categories(categories_path)
    if artifact is not None and (Path(artifact) / ARRAYS).exists():
        model = CategoryModel.load(artifact)
        if model.labels == [c.id for c in categories]:
            return model
        log.warning("category model %s was trained on other categories than %s; using "
                    "zero-shot until it is retrained", artifact, categories_path)
    return CategoryModel.zero_shot(categories, encode)


class CategoryStage:
    """Pipeline stage: the category of each message, from the embedding the encoder left.

    It never encodes: encoding is the expensive part and the encoder stage has done it already.
    A result without an embedding (the encoder did not run) is left alone.
    """

    name = "category"

    def __init__(self, model: CategoryModel):
        self.model = model

    def classify(self, texts: list[str], results: list[Classification]) -> None:
        ready = [i for i, result in enumerate(results) if result.embedding is not None]
        if not ready:
            return
        probabilities = self.model.predict_proba(
            np.asarray([results[i].embedding for i in ready], dtype=np.float32),
            [texts[i] for i in ready],
        )
        for index, row in zip(ready, probabilities, strict=True):
            result = results[index]
            best = int(row.argmax())
            result.labels[self.name] = self.model.labels[best]
            result.scores[self.name] = round(float(row[best]), 4)
            result.models[self.name] = f"{self.model.name}-{self.model.kind}-v{self.model.version}"
