"""What `--backend auto --precision auto` picks among the model files of a folder."""

import json

from fer_live.engines.backends.select import candidates
from fer_live.engines.model_files import KERAS_FILE, ONNX_FILES


def _folder(tmp_path, files, int8_loss=None):
    for name in files:
        (tmp_path / name).write_bytes(b"")
    if int8_loss is not None:
        conversion = {"accuracy": 0.66 - int8_loss, "reference_accuracy": 0.66}
        (tmp_path / "metrics.json").write_text(json.dumps({"conversion/int8": conversion}))
    return tmp_path


def _cpu_choices(folder, precision="auto"):
    """candidates() lists TensorRT pairs too (open_backend skips them without a GPU)."""
    return [pair for pair in candidates(folder, "auto", precision) if pair[0] != "tensorrt"]


def test_auto_prefers_int8_within_half_a_point(tmp_path):
    folder = _folder(tmp_path, [ONNX_FILES["int8"], ONNX_FILES["fp32"]], int8_loss=0.002)
    assert _cpu_choices(folder)[0] == ("onnxruntime", "int8")


def test_auto_skips_a_lossier_int8_when_a_float_file_is_there(tmp_path):
    files = [ONNX_FILES["int8"], ONNX_FILES["fp32"], KERAS_FILE]
    folder = _folder(tmp_path, files, int8_loss=0.008)
    assert _cpu_choices(folder) == [("onnxruntime", "fp32"), ("keras", "fp32")]


def test_auto_uses_a_lossier_int8_when_it_is_the_only_file(tmp_path):
    folder = _folder(tmp_path, [ONNX_FILES["int8"]], int8_loss=0.008)
    assert _cpu_choices(folder) == [("onnxruntime", "int8")]


def test_an_int8_without_a_recorded_cost_is_kept_behind_a_float_file(tmp_path):
    folder = _folder(tmp_path, [ONNX_FILES["int8"], ONNX_FILES["fp32"]])
    assert _cpu_choices(folder) == [("onnxruntime", "fp32")]


def test_an_explicit_precision_is_taken_whatever_its_cost(tmp_path):
    folder = _folder(tmp_path, [ONNX_FILES["int8"], ONNX_FILES["fp32"]], int8_loss=0.05)
    assert _cpu_choices(folder, "int8") == [("onnxruntime", "int8")]
