"""Shared fixtures: the ../shared data and media, and small real (untrained) model artifacts.

Tests that need ../shared skip with a reason when it is absent (a user's fresh clone); with
FER_REQUIRE_SHARED=1 (CI) they fail instead, so CI can never pass by skipping them.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FER_SHARED_DIR", ROOT.parent / "shared"))
MEDIA = SHARED / "media"
DATA = SHARED / "data"


def need_shared(path: Path) -> Path:
    if path.exists():
        return path
    if os.environ.get("FER_REQUIRE_SHARED") == "1":
        pytest.fail(f"{path} is required (FER_REQUIRE_SHARED=1) but missing")
    pytest.skip(f"{path} not present (the shared data/media live beside the repository)")


@pytest.fixture(scope="session")
def media() -> Path:
    return need_shared(MEDIA)


@pytest.fixture(scope="session")
def fer2013() -> Path:
    return need_shared(DATA / "fer2013.npz")


def _save_artifact(model, folder: Path, spec_dict: dict) -> Path:
    from fer_live.engines.convert.onnx_export import export_onnx
    from fer_live.engines.spec import ModelSpec, save_spec

    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    spec = ModelSpec.from_dict(spec_dict)
    save_spec(spec, folder)
    export_onnx(folder / "model.keras", spec, folder / "model.onnx")
    return folder


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """A model store with real but untrained (seeded random) artifacts for pipeline tests:

    tiny        five_layer-shaped gray 48×48 softmax CNN, small widths (fast to export and run)
    tiny_b      the same architecture, another seed (ensemble member)
    ensemble    members tiny + tiny_b
    tiny_ovr    one network with seven sigmoid heads on a shared trunk (OVR set)
    """
    import keras

    root = tmp_path_factory.mktemp("models")
    gray48 = {"input_shape": [48, 48, 1], "color": "gray", "normalization": "unit"}

    def tiny(seed: int, outputs: int, activation: str):
        keras.utils.set_random_seed(seed)
        inputs = keras.Input((48, 48, 1))
        x = inputs
        for width in (8, 16, 16):
            x = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(x)
            x = keras.layers.MaxPooling2D(2)(x)
        x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
        return keras.Model(inputs, keras.layers.Dense(outputs, activation=activation)(x))

    _save_artifact(tiny(1, 7, "softmax"), root / "tiny", {**gray48, "architecture": "tiny"})
    _save_artifact(tiny(2, 7, "softmax"), root / "tiny_b", {**gray48, "architecture": "tiny"})
    _save_artifact(
        tiny(3, 7, "sigmoid"),
        root / "tiny_heads",
        {**gray48, "architecture": "tiny", "output": "sigmoid"},
    )
    (root / "ensemble").mkdir()
    (root / "ensemble" / "members.json").write_text(
        json.dumps({"kind": "ensemble", "members": ["tiny", "tiny_b"]})
    )
    (root / "tiny_ovr").mkdir()
    (root / "tiny_ovr" / "members.json").write_text(
        json.dumps({"kind": "ovr", "members": ["tiny_heads"]})
    )
    return root


@pytest.fixture()
def with_models(model_dir, monkeypatch) -> Path:
    monkeypatch.setenv("FER_MODEL_DIR", str(model_dir))
    return model_dir


def run_command(*args: str, env_extra: dict | None = None, timeout: float = 600):
    """Run a console script the way a user does; returns the CompletedProcess."""
    env = {**os.environ, **(env_extra or {})}
    bin_dir = Path(sys.executable).parent
    command = [str(bin_dir / args[0]) if (bin_dir / args[0]).exists() else args[0], *args[1:]]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)


def start_command(*args: str, env_extra: dict | None = None) -> subprocess.Popen:
    """Start a console script in the background (stderr captured as text)."""
    env = {**os.environ, **(env_extra or {})}
    command = [str(Path(sys.executable).parent / args[0]), *args[1:]]
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)


def partial_files(path: Path) -> list[Path]:
    """The unique temporary files (engines/atomic.py) being written for final name `path`."""
    return sorted(path.parent.glob(f".{path.stem}.*.partial{path.suffix}"))


def wait_until_written(path: Path, min_bytes: int = 5000, timeout: float = 300) -> None:
    """Wait until the temporary file being written for final name `path` holds `min_bytes`."""
    deadline = time.time() + timeout

    def written() -> bool:
        sizes = []
        for partial in partial_files(path):
            with contextlib.suppress(FileNotFoundError):  # renamed meanwhile
                sizes.append(partial.stat().st_size)
        return any(size >= min_bytes for size in sizes)

    while time.time() < deadline and not written():
        time.sleep(0.2)


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    import csv

    with path.open() as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def frame_count(path: Path) -> int:
    import cv2

    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def random_faces(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 48, 48), dtype=np.uint8)
