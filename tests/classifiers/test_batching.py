"""Batches of similar length, and rows put back in the texts' own order."""

import numpy as np

from classifiers.batching import by_length


def test_batches_are_sorted_by_length_and_restore_the_order() -> None:
    texts = ["a much longer text", "b", "ccc", "dd", "a medium one"]
    batches, restore = by_length(texts, batch_size=2)
    assert batches == [["b", "dd"], ["ccc", "a medium one"], ["a much longer text"]]
    rows = np.vstack([np.array([[len(t)] for t in batch]) for batch in batches])
    assert rows[restore].ravel().tolist() == [len(t) for t in texts]


def test_no_texts_no_batches() -> None:
    batches, restore = by_length([], batch_size=32)
    assert batches == [] and len(restore) == 0
