"""Classification metrics: accuracy, macro and per-class precision/recall/F1, confusion matrix."""

from __future__ import annotations

from typing import Any

import numpy as np

from fer_live.engines.labels import EMOTIONS


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix


def classification_report(
    truth: np.ndarray, predicted: np.ndarray, labels: tuple[str, ...] = EMOTIONS
) -> dict[str, Any]:
    """The metrics `fer-eval` reports; keys as documented in the README."""
    truth = np.asarray(truth, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    matrix = confusion_matrix(truth, predicted, len(labels))
    true_positive = np.diag(matrix).astype(np.float64)
    predicted_count = matrix.sum(axis=0).astype(np.float64)
    support = matrix.sum(axis=1).astype(np.float64)
    precision = np.divide(
        true_positive, predicted_count, out=np.zeros_like(true_positive), where=predicted_count > 0
    )
    recall = np.divide(true_positive, support, out=np.zeros_like(true_positive), where=support > 0)
    denominator = precision + recall
    f1 = np.divide(
        2 * precision * recall, denominator, out=np.zeros_like(true_positive), where=denominator > 0
    )
    n = len(truth)
    return {
        "n": n,
        "accuracy": float(true_positive.sum() / n) if n else 0.0,
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
        "per_class": {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion": matrix.tolist(),
        "labels": list(labels),
    }
