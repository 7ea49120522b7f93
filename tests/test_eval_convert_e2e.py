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
    assert cost["command"].startswith(f"fer-convert {folder} --to int8")
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

    from fer_live.engines.convert.quantize import activation_scheme
    from fer_live.engines.convert.tensorrt_engine import _require_symmetric_activations
    from fer_live.engines.errors import ModelFileError

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


def test_dequantized_int8_runs_in_float_close_to_the_original(fer2013, model_dir, tmp_path):
    """Recovery path for artifacts that ship INT8 only: Q/DQ -> FP32 with the same weights."""
    import numpy as np
    import onnx

    from fer_live.engines.convert.dequantize import dequantize_qdq
    from fer_live.engines.model import FerModel
    from fer_live.train.datasets import load_faces
    from fer_live.train.evaluate import select_split

    folder = tmp_path / "tiny_int8"
    _convert_tiny_to_int8(model_dir, folder, fer2013, "--calib-size", "64")
    recovered = tmp_path / "tiny_recovered"
    recovered.mkdir()
    shutil.copy(folder / "spec.json", recovered / "spec.json")
    dequantize_qdq(folder / "model.int8.onnx", recovered / "model.onnx")
    ops = {node.op_type for node in onnx.load(str(recovered / "model.onnx")).graph.node}
    assert not ops & {"QuantizeLinear", "DequantizeLinear"}
    faces = select_split(load_faces(fer2013), "PublicTest").images[:256]
    with (
        FerModel.open(str(folder), "single", "keras") as original,
        FerModel.open(str(recovered), "single", "onnxruntime", "fp32") as dequantized,
    ):
        expected = original.predict_crops(faces).probs
        got = dequantized.predict_crops(faces).probs
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).mean() >= 0.9
    assert np.abs(got - expected).max() < 0.2


def test_fer_eval_runs_an_ovr_set_without_naming_its_mode(fer2013, model_dir, tmp_path):
    out = tmp_path / "ovr.json"
    result = run_command(
        "fer-eval",
        *("--model", "tiny_ovr", "--data", str(fer2013), "--split", "PublicTest"),
        *("--json", str(out)),
        env_extra={"FER_MODEL_DIR": str(model_dir)},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["mode"] == "ovr" and report["n"] == 3589


def _cross_domain_faces(fer2013, count: int = 40):
    """Real faces standing in for a set from another source: no usage column, any size/colour."""
    import numpy as np

    with np.load(fer2013) as data:
        rows = np.flatnonzero(data["usage"] == "PrivateTest")[:count]
        return data["images"][rows], data["labels"][rows]


def test_fer_eval_on_an_npz_without_usage_evaluates_every_face(fer2013, tmp_path):
    import numpy as np

    images, labels = _cross_domain_faces(fer2013)
    np.savez(tmp_path / "other.npz", images=images, labels=labels)
    out = tmp_path / "r.json"
    result = run_command(
        "fer-eval", "--model", "five_layer", "--data", str(tmp_path / "other.npz"), "--flip",
        "off", "--json", str(out),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["split"] == "all" and report["n"] == len(labels)
    assert "on all:" in result.stderr
    # A named split that the data lacks is refused with the way out.
    refused = run_command(
        "fer-eval", "--model", "five_layer", "--data", str(tmp_path / "other.npz"), "--split",
        "PrivateTest",
    )
    assert refused.returncode == 2 and "--split all" in refused.stderr


def test_fer_eval_on_a_class_folder_matches_the_same_faces_as_npz(fer2013, tmp_path):
    import cv2
    import numpy as np

    from fer_live.engines.labels import EMOTIONS

    images, labels = _cross_domain_faces(fer2013)
    np.savez(tmp_path / "same.npz", images=images, labels=labels)
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = tmp_path / "faces" / EMOTIONS[label]
        folder.mkdir(parents=True, exist_ok=True)
        colour = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)  # other sources are colour photos
        cv2.imwrite(str(folder / f"face{index}.png"), colour)
    reports = {}
    for name, data in (("npz", tmp_path / "same.npz"), ("folder", tmp_path / "faces")):
        out = tmp_path / f"{name}.json"
        result = run_command(
            "fer-eval", "--model", "five_layer", "--data", str(data), "--flip", "off",
            "--json", str(out),
        )
        assert result.returncode == 0, result.stderr
        reports[name] = json.loads(out.read_text())
    assert reports["folder"]["n"] == reports["npz"]["n"] == len(labels)
    assert reports["folder"]["confusion"] == reports["npz"]["confusion"]
