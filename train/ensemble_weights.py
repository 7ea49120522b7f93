"""Member weights for an ensemble's mean, fitted on validation faces (PublicTest).

The paper averages its members equally. Members differ in strength, though: on PublicTest, one
pass, six_layer 0.6403, efficientnet_lite0 0.6392 and compact_resnet 0.6846, so an equal vote
lets the two weaker ones outvote the strongest. The fit tries every weighting on a simplex grid
(`STEP`; every member keeps at least one step, since the members were already chosen) and keeps
the most accurate; among weightings equally accurate it keeps the one nearest to equal weights,
so a fit that finds nothing leaves the paper's mean unchanged.

Fitted on the same faces it is scored on, the gain it reports is optimistic. Fitted on one half
of PublicTest and scored on the other (100 random halves), weighting six_layer +
efficientnet_lite0 + compact_resnet gained 0.16 ± 0.34 points over the equal mean, fitting
accuracy directly; fitting the log-loss instead gained 0.12 ± 0.50 (README, Ablations). That
estimate's grid also allowed a weight of 0; this one keeps every member.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from fer_live.engines.combine import ensemble_mean

STEP = 0.05
MAX_MEMBERS = 6  # C(19, 5) = 11,628 weightings at STEP 0.05; more members need another search


def weight_grid(members: int, step: float = STEP) -> np.ndarray:
    """Every weighting of `members` members in multiples of `step`, each at least one step,
    summing to one (rows)."""
    units = round(1 / step)
    if not 1 <= members <= min(units, MAX_MEMBERS):
        raise ValueError(f"the grid takes 1 to {min(units, MAX_MEMBERS)} members, not {members}")
    # Stars and bars: choose where the members-1 dividers fall among units-1 gaps.
    rows = [
        np.diff((0, *cuts, units)) for cuts in itertools.combinations(range(1, units), members - 1)
    ]
    return np.asarray(rows, np.float64) / units


def fit_member_weights(
    member_probs: Sequence[np.ndarray], labels: np.ndarray, step: float = STEP
) -> np.ndarray:
    """The most accurate weighting on the grid, nearest to equal weights among ties; equal
    weights themselves unless a weighting is strictly more accurate."""
    stacked = np.stack([np.asarray(p, np.float64) for p in member_probs])  # members × N × 7
    labels = np.asarray(labels)

    def accuracy(weights: np.ndarray) -> float:
        return float((ensemble_mean(stacked, weights).argmax(axis=1) == labels).mean())

    equal = np.full(len(stacked), 1 / len(stacked))
    best, best_key = equal, (accuracy(equal), 0.0)
    for weights in weight_grid(len(stacked), step):
        key = (accuracy(weights), -float(np.abs(weights - equal).sum()))
        if key > best_key:
            best, best_key = weights, key
    return best
