"""Weighted ensembles: members.json `weights`, the fit (train/ensemble_weights.py) and
`fer-assemble weigh`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fer_live.engines.combine import ensemble_mean
from fer_live.engines.errors import ModelFileError
from fer_live.engines.model import FerModel
from fer_live.engines.store import load_artifact
from fer_live.train.ensemble_weights import fit_member_weights, weight_grid


def _member(labels: np.ndarray, strength: float, seed: int) -> np.ndarray:
    """Softmax outputs whose true-class logit is raised by `strength` (more: more accurate)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1, (len(labels), 7))
    logits[np.arange(len(labels)), labels] += strength
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def test_weighted_mean_is_the_weighted_average_and_none_is_the_plain_mean():
    a, b = np.full((2, 7), 1 / 7), np.eye(7)[:2]
    np.testing.assert_allclose(ensemble_mean([a, b], [3, 1]), 0.75 * a + 0.25 * b, atol=1e-6)
    np.testing.assert_allclose(ensemble_mean([a, b]), (a + b) / 2, atol=1e-6)


def test_grid_rows_are_weightings_with_every_member_present():
    grid = weight_grid(3)
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)
    assert grid.min() == pytest.approx(0.05) and len(grid) == 171  # C(19, 2)
    with pytest.raises(ValueError):
        weight_grid(7)


def test_fit_leans_on_the_stronger_member_and_beats_the_equal_mean():
    labels = np.random.default_rng(0).integers(0, 7, 3000)
    strong, weak_a, weak_b = (
        _member(labels, 2.5, 1), _member(labels, 0.8, 2), _member(labels, 0.8, 3)
    )
    weights = fit_member_weights([strong, weak_a, weak_b], labels)
    assert weights[0] > weights[1] and weights[0] > weights[2]

    def accuracy(w):
        return (ensemble_mean([strong, weak_a, weak_b], w).argmax(axis=1) == labels).mean()

    assert accuracy(weights) > accuracy(None)


def test_fit_keeps_equal_weights_when_no_weighting_does_better():
    labels = np.random.default_rng(0).integers(0, 7, 500)
    same = _member(labels, 1.5, 1)
    np.testing.assert_allclose(fit_member_weights([same, same], labels), [0.5, 0.5])


def test_members_json_weights_change_the_mean(with_models, tmp_path):
    folder = tmp_path / "weighted"
    folder.mkdir()
    (folder / "members.json").write_text(
        json.dumps({"kind": "ensemble", "members": ["tiny", "tiny_b"], "weights": [0.8, 0.2]})
    )
    faces = list((np.random.default_rng(0).random((8, 48, 48)) * 255).astype(np.uint8))
    outputs = {}
    for name in ("tiny", "tiny_b"):
        with FerModel.open(name, "single", "onnxruntime") as model:
            outputs[name] = model.predict_crops(faces).probs
    with FerModel(load_artifact(str(folder)), "onnxruntime") as weighted:
        probs = weighted.predict_crops(faces).probs
    np.testing.assert_allclose(probs, 0.8 * outputs["tiny"] + 0.2 * outputs["tiny_b"], atol=1e-5)


@pytest.mark.parametrize(
    "members",
    [
        {"kind": "ensemble", "members": ["tiny", "tiny_b"], "weights": [1.0]},
        {"kind": "ensemble", "members": ["tiny", "tiny_b"], "weights": [1.0, -0.5]},
        {"kind": "ensemble", "members": ["tiny", "tiny_b"], "weights": [0, 0]},
        {"kind": "ensemble", "members": ["tiny", "tiny_b"], "weights": [True, 1]},
        {"kind": "ensemble", "members": ["tiny", "tiny_b"], "weights": {"tiny": 1}},
        {"kind": "ovr", "members": ["tiny_heads"], "weights": [1.0]},
    ],
)
def test_bad_weights_are_one_clear_error(with_models, tmp_path, members):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "members.json").write_text(json.dumps(members))
    with pytest.raises(ModelFileError, match="weights"):
        load_artifact(str(folder))


def test_fer_assemble_weigh_writes_an_ensemble_that_balance_keeps(fer2013, model_dir, tmp_path):
    from tests.conftest import run_command

    env = {"FER_MODEL_DIR": str(model_dir)}
    out = tmp_path / "ensemble_weighted"
    made = run_command(
        "fer-assemble", "weigh", "--model", "ensemble", "--data", str(fer2013), "--out", str(out),
        env_extra=env,
    )
    assert made.returncode == 0, made.stderr
    members = json.loads((out / "members.json").read_text())
    assert [entry.rsplit("/", 1)[-1] for entry in members["members"]] == ["tiny", "tiny_b"]
    assert sum(members["weights"]) == pytest.approx(1.0)
    fitted = members["weights_fitted_on"]
    assert fitted["split"] == "PublicTest" and fitted["flip"] == "off"
    before, after = fitted["equal_then_fitted"]["accuracy"]
    assert after >= before
    balanced = tmp_path / "ensemble_weighted_balanced"
    kept = run_command(
        "fer-assemble", "balance", "--model", str(out), "--data", str(fer2013), "--out",
        str(balanced), env_extra=env,
    )
    assert kept.returncode == 0, kept.stderr
    assert json.loads((balanced / "members.json").read_text())["weights"] == members["weights"]
    refused = run_command(
        "fer-assemble", "weigh", "--model", "tiny", "--data", str(fer2013), "--out",
        str(tmp_path / "x"), env_extra=env,
    )
    assert refused.returncode == 2 and "not an ensemble" in refused.stderr
