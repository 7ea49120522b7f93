from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fer_live.engines.combine import ensemble_mean, ovr_normalise

unit = st.floats(0, 1, allow_nan=False)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@given(arrays(np.float64, (3, 4, 7), elements=st.floats(-20, 20)))
def test_ensemble_mean_of_distributions_is_a_distribution(logits):
    members = [_softmax(m) for m in logits]
    mean = ensemble_mean(members)
    assert mean.shape == (4, 7)
    np.testing.assert_allclose(mean.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(mean, np.mean(members, axis=0), atol=1e-6)


def test_ensemble_mean_picks_the_averaged_winner():
    a = np.array([[0.6, 0.4, 0, 0, 0, 0, 0]])
    b = np.array([[0.1, 0.9, 0, 0, 0, 0, 0]])
    assert ensemble_mean([a, b]).argmax() == 1


def test_ensemble_needs_members():
    with pytest.raises(ValueError):
        ensemble_mean([])


@given(arrays(np.float64, (5, 7), elements=unit))
def test_ovr_normalise_is_a_distribution_and_keeps_argmax(scores):
    probs = ovr_normalise(scores)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs >= 0).all()
    nonzero = scores.max(axis=1) > 1e-6
    # The normalised argmax is one of the maximal raw scores (ties keep any of them).
    chosen = scores[np.arange(5), probs.argmax(axis=1)]
    np.testing.assert_allclose(chosen[nonzero], scores.max(axis=1)[nonzero], rtol=1e-5)


def test_ovr_all_zero_row_is_uniform():
    np.testing.assert_allclose(ovr_normalise(np.zeros((1, 7))), np.full((1, 7), 1 / 7))
