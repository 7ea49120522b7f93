"""train/gpu_bundle.py: faces there and back bit for bit, a run's weights back in parts under
the device's file limit, and a resumed command that then only writes the model."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("cv2")

from typer.testing import CliRunner  # noqa: E402

from fer_live.engines.errors import UsageError  # noqa: E402
from fer_live.train import gpu_bundle  # noqa: E402
from fer_live.train.datasets import FaceSet, load_faces  # noqa: E402
from fer_live.train.torch_fit import (  # noqa: E402
    BEST,
    TorchRecipe,
    train_keras_model_with_torch,
)


def _fer_like_npz(path, count: int = 30):
    rng = np.random.default_rng(4)
    usage = np.array(["Training", "PublicTest", "PrivateTest"] * (count // 3))
    np.savez(
        path,
        images=rng.integers(0, 256, (count, 48, 48), dtype=np.uint8),
        labels=(np.arange(count) % 7).astype(np.int8),
        usage=usage,
        label_names=np.array(["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]),
    )


def test_faces_come_back_bit_for_bit_and_load_as_fer2013(tmp_path):
    source = tmp_path / "fer2013.npz"
    _fer_like_npz(source)
    result = CliRunner().invoke(
        gpu_bundle.app, ["pack", "--data", str(source), "--out", str(tmp_path / "carry")]
    )
    assert result.exit_code == 0, result.output
    gpu_bundle.unpack_faces(tmp_path / "carry", tmp_path / "there.npz")
    original, there = np.load(source), np.load(tmp_path / "there.npz")
    for key in ("images", "labels", "usage"):
        np.testing.assert_array_equal(original[key], there[key])
    faces = load_faces(tmp_path / "there.npz", load_votes=False)
    assert len(faces) == 30 and set(faces.usage) == {"Training", "PublicTest", "PrivateTest"}


def test_pack_refuses_a_missing_file_in_one_line(tmp_path):
    result = CliRunner().invoke(
        gpu_bundle.app, ["pack", "--data", str(tmp_path / "no.npz"), "--out", str(tmp_path)]
    )
    assert result.exit_code == 2 and "no such file" in result.output
    assert "Traceback" not in result.output


def _tiny(count: int, seed: int) -> FaceSet:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, 48, 48), dtype=np.uint8)
    return FaceSet(images, (np.arange(count) % 7).astype(np.int64), np.array(["x"] * count))


def test_a_run_goes_back_in_parts_and_resume_writes_the_same_model(tmp_path, monkeypatch):
    train, val = _tiny(32, 0), _tiny(16, 1)
    recipe = TorchRecipe(epochs=1, batch_size=16, bfloat16=False)
    there = tmp_path / "there"
    model, history = train_keras_model_with_torch(
        "compact_resnet", train, val, there, recipe, 0, False, 1
    )
    # Small parts, so that tensors are cut across files as five_layer's conv5 (19 MB) would be.
    monkeypatch.setattr(gpu_bundle, "PART_BYTES", 300_000)
    files = gpu_bundle.export_run(there, tmp_path / "out")
    parts = [f for f in files if f.suffix == ".bin"]
    assert len(parts) > 3 and all(f.stat().st_size <= 300_000 for f in parts)

    here = tmp_path / "here"
    assert gpu_bundle.import_run(tmp_path / "out", here, "compact_resnet", "fast", 1) == 1
    sent = torch.load(there / BEST, weights_only=False)["ema"]
    back = torch.load(here / BEST, weights_only=False)["ema"]
    for name, tensor in sent.items():
        assert back[name].dtype == tensor.dtype
        np.testing.assert_allclose(back[name].float(), tensor.float(), rtol=1e-3, atol=1e-4)

    resumed, resumed_history = train_keras_model_with_torch(
        "compact_resnet", train, val, here, recipe, 0, True, 1
    )
    assert resumed_history == history  # nothing trained again
    faces = np.random.default_rng(3).random((4, 48, 48, 1), dtype=np.float32)
    np.testing.assert_allclose(
        np.asarray(resumed(faces, training=False)), np.asarray(model(faces, training=False)),
        atol=1e-2,
    )


def test_import_refuses_a_wrong_epoch_count_and_a_foreign_folder(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(UsageError, match=r"no weights\.json"):
        gpu_bundle.import_run(tmp_path / "out", tmp_path / "run", "compact_resnet", "fast", 1)
    (tmp_path / "out" / gpu_bundle.MANIFEST).write_text(
        json.dumps({"best_epoch": 0, "parts": 0, "tensors": []})
    )
    (tmp_path / "out" / gpu_bundle.HISTORY).write_text(json.dumps([{"epoch": 0}]))
    with pytest.raises(UsageError, match="trained 1 epochs, the recipe has 50"):
        gpu_bundle.import_run(tmp_path / "out", tmp_path / "run", "compact_resnet", "fast", None)
