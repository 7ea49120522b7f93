"""The fitted decision rule for rare classes (train/balance.py, members.json class_bias)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fer_live.engines.combine import apply_class_bias
from fer_live.engines.errors import ModelFileError
from fer_live.engines.labels import EMOTIONS
from fer_live.engines.model import FerModel
from fer_live.engines.store import load_artifact
from fer_live.train.balance import class_recalls, fit_class_bias


def _skewed(seed: int = 0, n: int = 2000):
    """A model that under-predicts class 1: its probabilities carry a prior against it."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 7, n)
    logits = rng.normal(0, 1, (n, 7))
    logits[np.arange(n), labels] += 1.5
    logits[:, 1] -= 1.2
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probs, labels


def test_fit_lifts_the_weakest_recall_within_the_accuracy_budget():
    probs, labels = _skewed()
    before = class_recalls(labels, probs.argmax(axis=1), 7)
    bias = fit_class_bias(probs, labels, max_accuracy_drop=0.01, min_recall=0.55)
    after_pred = apply_class_bias(probs, bias).argmax(axis=1)
    after = class_recalls(labels, after_pred, 7)
    assert before[1] < 0.4 and after[1] > before[1] + 0.15
    assert after.mean() > before.mean()
    accuracy = lambda p: float((p == labels).mean())  # noqa: E731
    assert accuracy(after_pred) >= accuracy(probs.argmax(axis=1)) - 0.01
    assert bias[0] == 0 and bias[1] > 0


def test_biased_rows_stay_distributions_and_zero_bias_changes_nothing():
    probs, _ = _skewed(n=50)
    np.testing.assert_allclose(apply_class_bias(probs, np.zeros(7)), probs, atol=1e-6)
    shifted = apply_class_bias(probs, np.array([0, 2, 0, -1, 0, 0, 0.5]))
    np.testing.assert_allclose(shifted.sum(axis=1), 1.0, atol=1e-5)


def test_members_json_class_bias_changes_the_decision(with_models, model_dir, tmp_path):
    folder = tmp_path / "biased"
    folder.mkdir()
    bias = {emotion: 0.0 for emotion in EMOTIONS}
    bias["disgust"] = 4.0
    (folder / "members.json").write_text(
        json.dumps({"kind": "ensemble", "members": ["tiny"], "class_bias": bias})
    )
    faces = (np.random.default_rng(0).random((16, 48, 48)) * 255).astype(np.uint8)
    with FerModel.open("tiny", "single", "onnxruntime") as plain:
        raw = plain.predict_crops(list(faces))
    with FerModel(load_artifact(str(folder)), "onnxruntime") as biased:
        shifted = biased.predict_crops(list(faces))
    np.testing.assert_allclose(shifted.scores, raw.probs, atol=1e-6)  # scores stay raw
    expected = apply_class_bias(raw.probs, np.array([bias[e] for e in EMOTIONS]))
    np.testing.assert_allclose(shifted.probs, expected, atol=1e-5)


@pytest.mark.parametrize(
    "bias",
    [{"happy": 1.0}, {e: 9.0 for e in EMOTIONS}, {e: "1" for e in EMOTIONS}, [0.0] * 7,
     {e: True for e in EMOTIONS}],
)
def test_bad_class_bias_is_one_clear_error(with_models, tmp_path, bias):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "members.json").write_text(
        json.dumps({"kind": "ensemble", "members": ["tiny"], "class_bias": bias})
    )
    with pytest.raises(ModelFileError, match="class_bias"):
        load_artifact(str(folder))


def test_fer_assemble_balance_writes_a_composite_that_fer_eval_runs(
    fer2013, model_dir, tmp_path
):
    from tests.conftest import run_command

    env = {"FER_MODEL_DIR": str(model_dir)}
    out = tmp_path / "tiny_balanced"
    made = run_command(
        "fer-assemble", "balance", "--model", "tiny", "--data", str(fer2013), "--out", str(out),
        env_extra=env,
    )
    assert made.returncode == 0, made.stderr
    members = json.loads((out / "members.json").read_text())
    assert sorted(members["class_bias"]) == sorted(EMOTIONS)
    assert members["fitted_on"]["split"] == "PublicTest"
    before, after = members["fitted_on"]["before_after"]["balanced_accuracy"]
    assert after >= before
    evaluated = run_command(
        "fer-eval", "--model", str(out), "--data", str(fer2013), "--split", "PublicTest",
        env_extra=env,
    )
    assert evaluated.returncode == 0, evaluated.stderr
    refused = run_command(
        "fer-assemble", "balance", "--model", str(out), "--data", str(fer2013), "--out",
        str(out), env_extra=env,
    )
    assert refused.returncode == 2 and "itself" in refused.stderr
