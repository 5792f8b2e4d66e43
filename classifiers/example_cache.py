"""Embeddings of the knowledge base's example questions, kept on disk between starts.

Every start encoded the FAQ's example questions again: about 1,500 texts, which took the
multilingual encoder some 18 s on two cores, for vectors identical to the last start's. The
file is named after the model and its package version, and keyed by a hash of each text, so an
edited question or a new model is simply a miss. Replicas sharing the directory write through a
temporary file and a rename, so a reader never sees half a file; the worst case is a second
replica encoding what the first already saved.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class ExampleCache:
    """text -> vector for one model, in memory and (when `path` is given) in a .npz file."""

    def __init__(self, path: Path | None):
        self.path = path
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._loaded = path is None

    def _load(self) -> None:
        self._loaded = True
        if self.path is None or not self.path.exists():
            return
        try:
            with np.load(self.path) as stored:
                keys, vectors = stored["keys"], stored["vectors"]
        except (OSError, ValueError, KeyError) as exc:  # unreadable: encode again, rewrite
            log.warning("example cache %s unreadable (%s); encoding again", self.path, exc)
            return
        self._vectors.update(zip((str(k) for k in keys), vectors, strict=True))

    def lookup(self, texts: list[str]) -> tuple[dict[str, np.ndarray], list[str]]:
        """The vectors known for `texts` (by text) and the distinct texts still missing."""
        with self._lock:
            if not self._loaded:
                self._load()
            found, missing = {}, []
            for text in dict.fromkeys(texts):
                vector = self._vectors.get(text_key(text))
                if vector is None:
                    missing.append(text)
                else:
                    found[text] = vector
            return found, missing

    def add(self, texts: list[str], vectors: np.ndarray) -> None:
        with self._lock:
            self._vectors.update(
                (text_key(t), v) for t, v in zip(texts, vectors, strict=True)
            )
            if self.path is not None and texts:
                self._save()

    def _save(self) -> None:
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            keys = np.array(list(self._vectors), dtype="U32")
            vectors = np.vstack(list(self._vectors.values())).astype(np.float32)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".npz")
            with os.fdopen(handle, "wb") as file:
                np.savez(file, keys=keys, vectors=vectors)
            os.replace(temporary, self.path)
        except OSError as exc:  # a read-only disk costs the next start some seconds, no more
            log.warning("example cache %s not saved: %s", self.path, exc)
