"""benchmarks.ensemble_search: subsets scored as ensemble means, best first, and the best
subset without each member."""

from __future__ import annotations

import itertools

import numpy as np

from fer_live.benchmarks.ensemble_search import best_without, pairwise_diversity, score_subsets


def _outputs(probs: np.ndarray) -> dict[str, np.ndarray]:
    return {"off": probs, "on": probs, "auto": probs}


def test_the_pair_that_corrects_each_other_ranks_first_and_leaving_one_out_is_reported():
    labels = np.array([0, 1, 2, 3])
    eye = np.eye(7, dtype=np.float32)
    # a is right on faces 0-1 and confidently wrong on 2-3, b the other way round; c is right
    # only on face 0. a+b averaged is right everywhere the confident one is right.
    a = np.stack([eye[0], eye[1], 0.45 * eye[5] + 0.3 * eye[2], 0.45 * eye[6] + 0.1 * eye[3]])
    b = np.stack([0.4 * eye[0] + 0.1 * eye[4], 0.4 * eye[1] + 0.1 * eye[4], eye[2], eye[3]])
    c = np.stack([eye[0], eye[4], eye[4], eye[4]])
    scored = score_subsets({"a": _outputs(a), "b": _outputs(b), "c": _outputs(c)}, labels)
    assert scored[0].members == ("a", "b") and scored[0].accuracy == 1.0
    assert {row.flip for row in scored if row.members == ("a", "b")} == {"off", "on", "auto"}
    assert len(scored) == 4 * 3  # ab, ac, bc, abc; three flip settings each
    assert all(x.accuracy >= y.accuracy for x, y in itertools.pairwise(scored))
    assert "a" not in best_without(scored, "a").members


def test_pairwise_diversity_counts_agreement_and_repeated_errors():
    labels = np.array([0, 1, 2, 3])
    eye = np.eye(7, dtype=np.float32)
    a = eye[[0, 1, 5, 6]]  # wrong on faces 2 and 3
    b = eye[[0, 1, 2, 6]]  # wrong on face 3 only: repeats one of a's two errors
    rows = {(x, y): (agree, shared) for x, y, agree, shared in
            pairwise_diversity({"a": _outputs(a), "b": _outputs(b)}, labels)}
    assert rows[("a", "b")] == (0.75, 0.5)
    assert rows[("b", "a")] == (0.75, 1.0)
