"""Parameter counts from ONNX files, and fer-bench --record storing timings beside the accuracy."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from fer_live.engines.errors import ModelFileError
from fer_live.engines.parameters import artifact_parameters, onnx_parameters
from fer_live.engines.store import SHIPPED_DIR, resolve_model
from tests.conftest import run_command


def _save(tmp_path, nodes, initializers, name="m.onnx"):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        initializers,
    )
    path = tmp_path / name
    onnx.save(helper.make_model(graph), str(path))
    return path


def test_float_weights_are_counted(tmp_path):
    weight = numpy_helper.from_array(np.ones((4, 3), np.float32), "w")
    bias = numpy_helper.from_array(np.ones(3, np.float32), "b")
    path = _save(tmp_path, [helper.make_node("Gemm", ["x", "w", "b"], ["y"])], [weight, bias])
    assert onnx_parameters(path) == 15


def test_quantisation_scales_and_shapes_are_not_parameters(tmp_path):
    initializers = [
        numpy_helper.from_array(np.ones((4, 3), np.int8), "wq"),
        numpy_helper.from_array(np.ones(3, np.float32), "scale"),
        numpy_helper.from_array(np.zeros(3, np.int8), "zero"),
        numpy_helper.from_array(np.ones(3, np.float32), "b"),
        numpy_helper.from_array(np.array([1, 3], np.int64), "shape"),
    ]
    nodes = [
        helper.make_node("DequantizeLinear", ["wq", "scale", "zero"], ["w"], axis=1),
        helper.make_node("Gemm", ["x", "w", "b"], ["g"]),
        helper.make_node("Reshape", ["g", "shape"], ["y"]),
    ]
    assert onnx_parameters(_save(tmp_path, nodes, initializers)) == 15


def test_damaged_file_is_one_clear_error(tmp_path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"not onnx at all")
    with pytest.raises(ModelFileError, match="not a readable ONNX file"):
        onnx_parameters(path)


@pytest.mark.skipif(not (SHIPPED_DIR / "ensemble_lite_compact").is_dir(), reason="not shipped")
def test_shipped_counts_match_the_architectures_and_add_up():
    # The Keras count (tests/test_architectures.py) also holds BN statistics, folded away in ONNX.
    assert artifact_parameters(resolve_model("compact_resnet", "auto")) == pytest.approx(
        3_589_095, rel=0.01
    )
    members = ["five_layer", "six_layer", "efficientnet_lite0", "compact_resnet"]
    assert artifact_parameters(resolve_model("ensemble_lite_compact", "auto")) == sum(
        artifact_parameters(resolve_model(name, "auto")) for name in members
    )


def test_fer_bench_record_stores_timing_cpu_and_command(fer2013, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(SHIPPED_DIR / "compact_resnet", store / "compact_resnet")
    args = ["fer-bench", "--model", "compact_resnet", "--precision", "int8", "--batch", "4"]
    args += ["--flip", "off", "--warmup", "0", "--iters", "2", "--data", str(fer2013), "--record"]
    result = run_command(*args, env_extra={"FER_MODEL_DIR": str(store)})
    assert result.returncode == 0, result.stderr
    metrics = json.loads((store / "compact_resnet" / "metrics.json").read_text())
    timing = metrics["speed/onnxruntime/int8/batch4"]
    assert timing["per_face_ms"] == pytest.approx(timing["p50_ms"] / 4)
    assert timing["cpu"] and timing["isa"]
    assert timing["command"].startswith("fer-bench --model compact_resnet")
    assert metrics["parameters"]["parameters"] > 3_000_000
    # the accuracy figures already there are kept
    assert "PrivateTest/single/onnxruntime/int8" in metrics


@pytest.mark.parametrize(
    "folder", sorted(p for p in SHIPPED_DIR.iterdir() if (p / "metrics.json").is_file())
)
def test_every_shipped_figure_names_the_command_behind_it(folder):
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics, folder
    for key, entry in metrics.items():
        assert str(entry.get("command", "")).startswith(("fer-", "python -m ")), (folder, key)


def test_models_table_shows_the_recorded_figures():
    from fer_live.benchmarks.models_table import model_row

    metrics = json.loads((SHIPPED_DIR / "five_layer" / "metrics.json").read_text())
    row = model_row("five_layer", "PrivateTest", 32)
    one_pass = metrics["PrivateTest/single/onnxruntime/int8"]
    assert row["accuracy one pass"] == f"{one_pass['accuracy']:.4f}"
    # "default" is what fer-eval runs: mirrored where the model's spec asks for it.
    mirrors = json.loads((SHIPPED_DIR / "five_layer" / "spec.json").read_text())["test_time_flip"]
    expected = row["accuracy flip"] if mirrors else row["accuracy one pass"]
    assert row["accuracy default"] == expected
    timing = metrics.get("speed/onnxruntime/int8/batch32")
    assert row["ms per face"] == ("—" if timing is None else f"{timing['per_face_ms']:.2f}")
    # Training: the last run's recipe, and the hours of every run it continued.
    info = json.loads((SHIPPED_DIR / "five_layer" / "info.json").read_text())
    runs = [*info.get("lineage", []), info]
    hours = sum(sum(run["epoch_seconds"]) for run in runs) / 3600
    assert row["training hours"] == f"{hours:.1f}"
    assert row["training"].startswith(f"`{info['recipe']}`")
    assert model_row("ensemble", "PrivateTest", 32)["training"] == "—"
