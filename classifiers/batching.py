"""Texts in batches of similar length, and the way back to their own order.

A batch pads to its longest text, so encoding texts sorted by length wastes less work on padding.
Every encoder here does this; `by_length` is the one place the order is taken apart and restored.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# What one more run of the encoder costs, in tokens: measured on MiniLM in ONNX Runtime, one
# thread, a batch of one costs as much as the same texts in a batch of 32 plus about 8 tokens.
RUN_COST_TOKENS = 8


def by_length(texts: list[str], batch_size: int) -> tuple[list[list[str]], np.ndarray]:
    """`texts` cut into batches of similar length, and the index that puts rows computed batch
    after batch back in the order of `texts` (`np.vstack(rows)[restore]`)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batches = [
        [texts[i] for i in order[start : start + batch_size]]
        for start in range(0, len(order), batch_size)
    ]
    return batches, np.argsort(order)


def by_tokens(
    lengths: Sequence[int], max_batch: int, run_cost: int = RUN_COST_TOKENS
) -> tuple[list[list[int]], np.ndarray]:
    """Indices of texts of `lengths` tokens cut into batches that cost the least to encode, and
    the index that restores the texts' order (`np.vstack(rows)[restore]`).

    Why: a batch costs its size times its longest text (padding included), plus `run_cost` per
    batch. Citizens' messages vary from 5 tokens to 128, so a fixed cut (32 texts sorted by
    length) still pads a short question to a long complaint's width: the encoder did about three
    times the work the texts needed. Sorted by length, the cheapest cut is found exactly by
    dynamic programming (at most `max_batch` texts a batch), which leaves about 10% of padding
    whatever the number of texts, so a small micro-batch is as cheap per text as a large one.
    """
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    best = [0.0] + [float("inf")] * len(order)  # best[end]: cheapest cut of order[:end]
    start = [0] * (len(order) + 1)
    for end in range(1, len(order) + 1):
        width = lengths[order[end - 1]]  # the longest of any batch ending here
        for first in range(max(0, end - max_batch), end):
            cost = best[first] + run_cost + (end - first) * width
            if cost < best[end]:
                best[end], start[end] = cost, first
    batches: list[list[int]] = []
    end = len(order)
    while end:
        batches.append(order[start[end] : end])
        end = start[end]
    batches.reverse()
    return batches, np.argsort([index for batch in batches for index in batch])
