"""Per-class logit offsets, fitted on the validation split, for the metric each head is judged by.

Training with class weights balances recall only roughly, and the tweets' class priors differ
between the training and validation splits. A bias per class (one number for each, the first
fixed at zero) corrects the prior shift; it is fitted by grid search on the validation split,
which is what that split is for, and stored in the model card so that it is applied everywhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from classifiers.metrics import scores

GRID = np.round(np.arange(-1.5, 1.5001, 0.05), 2)


def fit_biases(
    probabilities: np.ndarray, truth: Sequence[int], metric: str
) -> tuple[list[float], float, float]:
    """Offsets maximising `metric` ("macro_recall" or "macro_f1"): (biases, before, after)."""
    logits = np.log(np.clip(probabilities, 1e-9, 1.0))
    classes = logits.shape[1]
    target = np.asarray(truth)

    def value(biases: Sequence[float]) -> float:
        predicted = (logits + np.asarray(biases)).argmax(axis=1)
        return scores(target, predicted)[metric]

    before = best_value = value([0.0] * classes)
    best = [0.0] * classes
    for rest in itertools.product(GRID, repeat=classes - 1):
        candidate = [0.0, *map(float, rest)]
        current = value(candidate)
        if current > best_value + 1e-9:
            best, best_value = candidate, current
    return best, before, best_value


def apply_biases(probabilities: np.ndarray, biases: Sequence[float]) -> np.ndarray:
    logits = np.log(np.clip(probabilities, 1e-9, 1.0)) + np.asarray(biases)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)

