"""Combination rules of the paper: ensemble mean of softmax outputs, one-vs-rest score sets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def ensemble_mean(
    member_probs: Sequence[np.ndarray], weights: Sequence[float] | None = None
) -> np.ndarray:
    """Mean of the members' N×7 softmax outputs (paper §3.4: unweighted), or their weighted mean
    (members.json `weights`, fitted on validation faces by `fer-assemble weigh`); rows stay
    distributions."""
    if len(member_probs) == 0:
        raise ValueError("an ensemble needs at least one member")
    stacked = np.stack([np.asarray(p, np.float64) for p in member_probs])
    return np.average(stacked, axis=0, weights=weights).astype(np.float32)


def ovr_normalise(scores: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Seven independent sigmoid scores (N×7) -> a distribution per row.

    The paper takes the argmax of the concatenated scores; dividing by the row sum keeps that
    argmax and gives the overlay a distribution to show. A row of all-zero scores becomes uniform.
    """
    scores = np.clip(np.asarray(scores, np.float64), 0.0, None)
    totals = scores.sum(axis=1, keepdims=True)
    uniform = np.full_like(scores, 1.0 / max(scores.shape[1], 1))
    normalised = np.where(totals > eps, scores / np.maximum(totals, eps), uniform)
    return normalised.astype(np.float32)


def apply_class_bias(probs: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """probs × exp(bias) per class, renormalised: a prior shift (logit adjustment) that moves
    decisions towards classes the model under-predicts; rows stay distributions."""
    weighted = np.asarray(probs, np.float64) * np.exp(np.asarray(bias, np.float64))[None, :]
    totals = weighted.sum(axis=1, keepdims=True)
    return (weighted / np.where(totals > 0, totals, 1.0)).astype(np.float32)
