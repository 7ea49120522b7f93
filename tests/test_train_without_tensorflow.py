"""fer-train on a machine without TensorFlow (a PyTorch GPU machine): batches from a PyDataset."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import run_command

pytest.importorskip("torch", reason="Keras's PyTorch backend is what trains without TensorFlow")


def _hidden_tensorflow(tmp_path):
    """A `tensorflow` package first on the path whose import fails, as where it is absent."""
    shadow = tmp_path / "shadow" / "tensorflow"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ImportError("tensorflow is hidden in this test")\n')
    return {"PYTHONPATH": str(shadow.parent), "KERAS_BACKEND": "torch"}


def test_fer_train_and_resume_without_tensorflow(fer2013, tmp_path):
    env = _hidden_tensorflow(tmp_path)
    out, run = tmp_path / "model", tmp_path / "run"
    args = (
        "fer-train", "--arch", "compact_resnet", "--data", str(fer2013), "--out", str(out),
        "--run-dir", str(run), "--recipe", "compact", "--epochs", "2", "--limit", "96",
        "--max-steps", "2",
    )  # fmt: skip
    first = run_command(*args, env_extra=env)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "epoch 2/2" in first.stderr
    info = json.loads((out / "info.json").read_text())
    assert info["keras_backend"] == "torch"
    assert json.loads((run / "state.json").read_text())["epoch"] == 2
    again = run_command(*args, "--resume", env_extra=env)
    assert again.returncode == 0, again.stderr[-2000:]


def test_face_batches_shuffle_per_epoch_and_augment_training_only(fer2013):
    import keras

    from fer_live.train.architectures import get_architecture
    from fer_live.train.batches import FaceBatches

    faces = np.load(fer2013)["images"][:40]
    targets = np.eye(7, dtype=np.float32)[np.arange(40) % 7]
    spec = get_architecture("compact_resnet").spec
    keras.utils.set_random_seed(0)
    train = FaceBatches(faces, targets, spec, 16, training=True, seed=3, max_steps=2)
    assert len(train) == 2
    pixels, labels = train[0]
    assert pixels.shape == (16, 48, 48, 1) and pixels.dtype == np.float32
    assert labels.shape == (16, 7)
    order = train._order.copy()
    train.on_epoch_end()
    assert not np.array_equal(order, train._order)
    val = FaceBatches(faces, targets, spec, 16, training=False)
    assert len(val) == 3
    val_pixels, val_labels = val[2]
    assert len(val_pixels) == 8  # the last, partial batch
    np.testing.assert_array_equal(val_labels, targets[32:])
    from fer_live.engines.preprocess import to_model_input

    np.testing.assert_array_equal(val_pixels, to_model_input(faces[32:], spec))
