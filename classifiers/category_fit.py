"""Fitting the category model's logistic regression, with C chosen on the training data only.

Kept apart from `category.py` so the model class stays about predicting and storing. The fitted
model is reduced to a weight matrix and a bias vector (softmax(x @ W.T + b) reproduces
scikit-learn's probabilities exactly), which is all the artifact needs to store.
"""

from __future__ import annotations

import random
import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

# Unit-length embeddings and L2-normalised TF-IDF rows have small coordinates, so useful C values
# are larger than scikit-learn's default of 1; on the dev splits the best C was 3 to 10. A short
# grid, because each point costs one fit per fold and the crisis train split has 18k rows.
C_GRID = (1.0, 3.0, 10.0)
FOLDS = 3
MAX_ITER = 3000
Features = np.ndarray | sp.csr_matrix  # embeddings, or [TF-IDF | embeddings]


@dataclass(frozen=True)
class LinearFit:
    weights: np.ndarray  # classes x dimensions, float32
    bias: np.ndarray  # classes, float32
    C: float
    cv_scores: dict[str, float]  # macro F1 per C tried ({} when C was given)
    converged: bool


def stratified_folds(labels: Sequence[int], folds: int, seed: int) -> list[np.ndarray]:
    """Fold number per example: each label dealt round-robin over the folds after a shuffle.

    Hand-made rather than StratifiedKFold so that labels with fewer examples than folds are
    fine (they are simply missing from some folds) instead of a warning.
    """
    rng = random.Random(seed)
    by_label: dict[int, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    fold_of = np.zeros(len(labels), dtype=np.int64)
    offset = 0
    for label in sorted(by_label):
        members = by_label[label]
        rng.shuffle(members)
        for position, index in enumerate(members):
            fold_of[index] = (position + offset) % folds
        offset += len(members)
    return [np.flatnonzero(fold_of == fold) for fold in range(folds)]


def _fit(x: Features, y: np.ndarray, C: float, seed: int) -> tuple[LogisticRegression, bool]:
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=MAX_ITER, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x, y)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return model, converged


def choose_C(x: Features, y: np.ndarray, seed: int,
             grid: Sequence[float] = C_GRID) -> tuple[float, dict[str, float]]:
    """The C with the best out-of-fold macro F1 (ties: the smaller, more regularised C)."""
    folds = stratified_folds(y.tolist(), FOLDS, seed)
    results: dict[str, float] = {}
    for C in grid:
        predicted = np.empty_like(y)
        for held in folds:
            keep = np.ones(len(y), dtype=bool)
            keep[held] = False
            model, _ = _fit(x[keep], y[keep], C, seed)
            predicted[held] = model.predict(x[held])
        results[str(C)] = round(float(f1_score(y, predicted, average="macro")), 4)
    best = max(grid, key=lambda C: (results[str(C)], -C))
    return float(best), results


def fit_logistic(x: Features, labels: Sequence[int], classes: int, *, C: float | None = None,
                 seed: int = 0) -> LinearFit:
    """Multinomial, class-balanced logistic regression as (weights, bias) over `classes` rows.

    A class absent from `labels` gets a very negative bias, so it is never predicted rather
    than breaking the shapes.
    """
    y = np.asarray(labels, dtype=np.int64)
    if len(set(y.tolist())) < 2:
        raise ValueError("training needs examples of at least two labels")
    cv_scores: dict[str, float] = {}
    if C is None:
        C, cv_scores = choose_C(x, y, seed)
    model, converged = _fit(x, y, C, seed)
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # binary: sigmoid(w.x + b) == softmax([0, w.x + b])
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    weights = np.zeros((classes, x.shape[1]), dtype=np.float32)
    bias = np.full(classes, -1e4, dtype=np.float32)
    for row, label in enumerate(model.classes_):
        weights[int(label)] = coef[row]
        bias[int(label)] = intercept[row]
    return LinearFit(weights, bias, float(C), cv_scores, converged)
