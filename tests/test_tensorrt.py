"""TensorRT: runs only where TensorRT and an NVIDIA GPU are present; skipped with the reason
elsewhere (these CPU-only project machines)."""

from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest

from fer_live.engines.errors import BackendUnavailableError


def _gpu_reason() -> str | None:
    if importlib.util.find_spec("tensorrt") is None:
        return "TensorRT is not installed (pip install 'fer-live[gpu]' on a GPU machine)"
    try:
        from fer_live.engines.backends.tensorrt_backend import gpu_name

        gpu_name()
    except BackendUnavailableError as error:
        return error.message
    return None


GPU_REASON = _gpu_reason()
gpu = pytest.mark.skipif(GPU_REASON is not None, reason=GPU_REASON or "")


@pytest.mark.gpu
@gpu
@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_tensorrt_matches_onnxruntime(fer2013, model_dir, tmp_path, precision):
    from fer_live.engines.backends.onnxruntime_backend import OnnxRuntimeBackend
    from fer_live.engines.backends.tensorrt_backend import TensorRTBackend
    from fer_live.engines.spec import load_spec
    from tests.conftest import run_command

    folder = tmp_path / "tiny"
    shutil.copytree(model_dir / "tiny", folder)
    extra = (
        ["--int8-for", "tensorrt", "--calib-data", str(fer2013), "--calib-size", "64"]
        if precision == "int8"
        else []
    )
    assert run_command("fer-convert", str(folder), "--to", precision, *extra).returncode == 0
    built = run_command("fer-convert", str(folder), "--to", "tensorrt")
    assert built.returncode == 0, built.stderr
    assert list((folder / "engines").glob(f"{precision}-*.engine"))
    spec = load_spec(folder).with_precision(precision)
    pixels = np.random.default_rng(0).random((70, 48, 48, 1), dtype=np.float32)  # > max batch
    with (
        OnnxRuntimeBackend(folder / f"model.{precision}.onnx", spec) as reference,
        TensorRTBackend(folder / f"model.{precision}.onnx", spec) as engine,
    ):
        np.testing.assert_allclose(engine.predict(pixels), reference.predict(pixels), atol=2e-2)


@pytest.mark.skipif(GPU_REASON is None, reason="this machine has TensorRT and a GPU")
def test_without_tensorrt_or_gpu_the_error_says_what_is_missing(model_dir):
    from fer_live.engines.model import FerModel

    with pytest.raises(BackendUnavailableError) as info:
        FerModel.open(str(model_dir / "tiny"), "single", "tensorrt", "fp32")
    assert "TensorRT" in info.value.message or "GPU" in info.value.message


def test_auto_backend_falls_back_to_onnxruntime(with_models):
    from fer_live.engines.model import FerModel

    with FerModel.open("tiny", "single", "auto", "auto") as model:
        assert model.backend_names in ("onnxruntime", "tensorrt")
