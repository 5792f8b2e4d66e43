"""Texts in batches of similar length, and the way back to their own order.

A batch pads to its longest text, so encoding texts sorted by length wastes less work on padding.
Every encoder here does this; `by_length` is the one place the order is taken apart and restored.
"""

from __future__ import annotations

import numpy as np


def by_length(texts: list[str], batch_size: int) -> tuple[list[list[str]], np.ndarray]:
    """`texts` cut into batches of similar length, and the index that puts rows computed batch
    after batch back in the order of `texts` (`np.vstack(rows)[restore]`)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batches = [
        [texts[i] for i in order[start : start + batch_size]]
        for start in range(0, len(order), batch_size)
    ]
    return batches, np.argsort(order)
