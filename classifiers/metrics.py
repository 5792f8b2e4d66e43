"""The figures every evaluation reports, computed the same way everywhere."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.metrics import accuracy_score, f1_score, recall_score


def scores(truth: Sequence[int], predicted: Sequence[int]) -> dict[str, float]:
    """Macro recall, macro F1 and accuracy, rounded to four places."""
    return {
        "macro_recall": round(float(recall_score(truth, predicted, average="macro")), 4),
        "macro_f1": round(float(f1_score(truth, predicted, average="macro")), 4),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
    }
