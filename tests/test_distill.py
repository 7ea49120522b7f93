"""fer-train --teacher: Hinton's distillation loss on [labels | teacher] targets, and a short run
whose artifact records the teacher and whose teacher outputs are cached in the run folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fer_live.engines.errors import UsageError
from fer_live.train.distill import Distillation, distillation_targets, loss_and_metrics


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _reference_loss(labels, teacher, student, temperature, alpha):
    """The textbook formula from logits: alpha*T^2*KL(t_T||s_T) + (1-alpha)*CE(y, s)."""
    t = _softmax(np.log(teacher) / temperature)
    s = _softmax(np.log(student) / temperature)
    kl = (t * (np.log(t) - np.log(s))).sum(axis=1)
    ce = -np.log(student[np.arange(len(labels)), labels])
    return float(np.mean(alpha * temperature**2 * kl + (1 - alpha) * ce))


@pytest.mark.parametrize(("temperature", "alpha"), [(4.0, 0.7), (1.0, 0.0), (2.0, 1.0)])
def test_loss_matches_the_formula(temperature, alpha):
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 7, 16)
    teacher = _softmax(rng.normal(size=(16, 7)) * 2)
    student = _softmax(rng.normal(size=(16, 7)) * 2)
    loss, _ = loss_and_metrics(Distillation("five_layer", temperature, alpha), 0.0)
    got = float(loss(distillation_targets(labels, teacher), student.astype(np.float32)))
    assert got == pytest.approx(_reference_loss(labels, teacher, student, temperature, alpha), 1e-4)


def test_student_equal_to_teacher_leaves_only_the_label_term():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 7, 8)
    probs = _softmax(rng.normal(size=(8, 7))).astype(np.float32)
    loss, _ = loss_and_metrics(Distillation("five_layer", 4.0, 1.0), 0.0)
    assert float(loss(distillation_targets(labels, probs), probs)) == pytest.approx(0.0, abs=1e-5)


def test_accuracy_reads_the_label_half():
    labels = np.array([0, 1, 2, 3])
    teacher = np.eye(7, dtype=np.float32)[[6, 6, 6, 6]]  # a teacher that disagrees everywhere
    predictions = np.eye(7, dtype=np.float32)[[0, 1, 5, 5]]
    _, (accuracy,) = loss_and_metrics(Distillation("five_layer"), 0.0)
    accuracy.update_state(distillation_targets(labels, teacher), predictions)
    assert float(accuracy.result()) == pytest.approx(0.5)


@pytest.mark.parametrize(("temperature", "alpha"), [(0.0, 0.5), (4.0, 1.5)])
def test_bad_settings_are_refused(temperature, alpha):
    with pytest.raises(UsageError):
        Distillation("five_layer", temperature, alpha)


def test_fer_train_with_a_shipped_teacher(fer2013, tmp_path):
    from tests.conftest import run_command

    out, run = tmp_path / "student", tmp_path / "run"
    args = (
        "fer-train", "--arch", "compact_resnet", "--data", str(fer2013), "--out", str(out),
        "--run-dir", str(run), "--recipe", "compact", "--epochs", "1", "--limit", "96",
        "--max-steps", "1", "--teacher", "five_layer", "--temperature", "3",
    )  # fmt: skip
    result = run_command(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "running teacher five_layer over 96 training faces" in result.stderr
    info = json.loads((out / "info.json").read_text())
    assert info["distillation"] == {"teacher": "five_layer", "temperature": 3.0, "alpha": 0.7}
    (cached,) = run.glob("teacher-five_layer-*.npy")
    probs = np.load(cached)
    assert probs.shape == (96, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)

    rerun = run_command(*args, "--resume")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "teacher outputs from" in rerun.stderr  # the resumed run reads the cache


def test_teacher_with_a_binary_student_is_refused(fer2013, tmp_path):
    from tests.conftest import run_command

    result = run_command(
        "fer-train", "--arch", "five_layer", "--data", str(fer2013), "--out", str(tmp_path / "o"),
        "--positive", "fear", "--teacher", "five_layer", "--limit", "32", "--max-steps", "1",
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "--teacher" in result.stderr
