"""The classifier stage interface.

A stage looks at a batch of texts and fills in its part of each `Classification`. Stages are
synchronous and CPU-bound on purpose: the pipeline runs them on a worker thread, in batches, so
that the event loop stays free and the model sees many texts at once under load.
"""

from __future__ import annotations

from typing import Protocol

from townhall.domain import Classification


class Stage(Protocol):
    name: str

    def classify(self, texts: list[str], results: list[Classification]) -> None:
        """Annotate `results[i]` for `texts[i]`, in place."""
        ...
