"""Batches of similar length, and rows put back in the texts' own order."""

import numpy as np

from classifiers.batching import by_length, by_tokens


def test_batches_are_sorted_by_length_and_restore_the_order() -> None:
    texts = ["a much longer text", "b", "ccc", "dd", "a medium one"]
    batches, restore = by_length(texts, batch_size=2)
    assert batches == [["b", "dd"], ["ccc", "a medium one"], ["a much longer text"]]
    rows = np.vstack([np.array([[len(t)] for t in batch]) for batch in batches])
    assert rows[restore].ravel().tolist() == [len(t) for t in texts]


def test_no_texts_no_batches() -> None:
    batches, restore = by_length([], batch_size=32)
    assert batches == [] and len(restore) == 0


def test_token_batches_waste_little_padding_and_restore_the_order() -> None:
    lengths = [5, 120, 7, 6, 64, 8, 118, 9, 60, 5]
    batches, restore = by_tokens(lengths, max_batch=4)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert all(1 <= len(batch) <= 4 for batch in batches)
    padded = sum(len(batch) * max(lengths[i] for i in batch) for batch in batches)
    assert padded < 1.2 * sum(lengths)  # 413 for 402 tokens; 4 sorted texts a batch: 524
    rows = np.vstack([np.array([[lengths[i]] for i in batch]) for batch in batches])
    assert rows[restore].ravel().tolist() == lengths


def test_token_batches_of_nothing() -> None:
    batches, restore = by_tokens([], max_batch=32)
    assert batches == [] and len(restore) == 0
