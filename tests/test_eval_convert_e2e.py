"""fer-eval and fer-convert as a user runs them, on the real FER2013 file."""

from __future__ import annotations

import json
import shutil

from tests.conftest import run_command


def test_fer_eval_writes_the_documented_json(fer2013, model_dir, tmp_path):
    out = tmp_path / "r.json"
    result = run_command(
        "fer-eval",
        "--model",
        "tiny",
        "--data",
        str(fer2013),
        "--split",
        "PrivateTest",
        "--json",
        str(out),
        env_extra={"FER_MODEL_DIR": str(model_dir)},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert {
        "accuracy",
        "macro_f1",
        "macro_precision",
        "macro_recall",
        "per_class",
        "confusion",
        "n",
    } <= report.keys()
    assert report["n"] == 3589 and sum(map(sum, report["confusion"])) == 3589
    assert out.with_suffix(".confusion.png").stat().st_size > 0


def _convert_tiny_to_int8(model_dir, folder, fer2013, *options: str) -> None:
    shutil.copytree(model_dir / "tiny", folder)
    result = run_command(
        "fer-convert", str(folder), "--to", "int8", "--calib-data", str(fer2013), *options
    )
    assert result.returncode == 0, result.stderr


def test_fer_convert_int8_records_its_cost(fer2013, model_dir, tmp_path):
    folder = tmp_path / "tiny_copy"
    _convert_tiny_to_int8(
        model_dir, folder, fer2013, "--calib-size", "64", "--eval-data", str(fer2013)
    )
    metrics = json.loads((folder / "metrics.json").read_text())
    cost = metrics["conversion/int8"]
    assert cost["n"] == 3589 and 0 <= cost["agreement"] <= 1
    assert metrics["calibration/int8"]["split"] == "Training"
    assert metrics["calibration/int8"]["activations"] == "asymmetric-uint8"
    fp16 = run_command("fer-convert", str(folder), "--to", "fp16")
    assert fp16.returncode == 0, fp16.stderr
    assert (folder / "model.fp16.onnx").is_file()


def test_fer_convert_tensorrt_without_gpu_is_one_line(model_dir):
    result = run_command("fer-convert", str(model_dir / "tiny"), "--to", "tensorrt")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[0] == "error: TensorRT is not installed"


def test_int8_for_tensorrt_has_symmetric_activations_and_cpu_form_is_refused(
    fer2013, model_dir, tmp_path
):
    """TensorRT's explicit quantization takes zero-point-0 INT8 activations only; the CPU form
    (UINT8, asymmetric) must be told apart and refused with a hint, not fail inside TensorRT."""
    import pytest

    from engines.convert.quantize import activation_scheme
    from engines.convert.tensorrt_engine import _require_symmetric_activations
    from engines.errors import ModelFileError

    schemes = {}
    for target in ("cpu", "tensorrt"):
        folder = tmp_path / target
        _convert_tiny_to_int8(
            model_dir, folder, fer2013, "--int8-for", target, "--calib-size", "32"
        )
        schemes[target] = activation_scheme(folder / "model.int8.onnx")
    assert schemes == {"cpu": "asymmetric-uint8", "tensorrt": "symmetric-int8"}
    _require_symmetric_activations(tmp_path / "tensorrt" / "model.int8.onnx")
    with pytest.raises(ModelFileError) as refused:
        _require_symmetric_activations(tmp_path / "cpu" / "model.int8.onnx")
    assert "--int8-for tensorrt" in refused.value.hint
