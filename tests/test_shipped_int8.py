"""The shipped INT8 files give the same answers as their float weights on this machine's CPU.

Guards against integer overflow in ONNX Runtime's x86 kernels: on CPUs without VNNI, INT8 files
with full 8-bit weights dropped five_layer from 0.6573 to 0.6043 (and 0.3048 for the symmetric
form) while agreeing perfectly on the CPU they were made on. The float reference is the INT8
file's own graph, dequantized, so every shipped INT8 file is checked, with or without Keras file.
"""

from __future__ import annotations

import pytest

from fer_live.engines.store import SHIPPED_DIR

SHIPPED_INT8 = ["five_layer", "six_layer", "five_layer_ovr", "compact_resnet"]


@pytest.mark.parametrize("name", SHIPPED_INT8)
def test_shipped_int8_agrees_with_its_float_weights(name, fer2013, tmp_path):
    import shutil

    from fer_live.engines.convert.dequantize import dequantize_qdq
    from fer_live.engines.model import FerModel
    from fer_live.train.datasets import load_faces
    from fer_live.train.evaluate import select_split

    shipped = SHIPPED_DIR / name
    reference = tmp_path / name
    reference.mkdir()
    shutil.copy(shipped / "spec.json", reference / "spec.json")
    dequantize_qdq(shipped / "model.int8.onnx", reference / "model.onnx")
    faces = select_split(load_faces(fer2013), "PrivateTest").images[:512]
    with (
        FerModel.open(str(shipped), "auto", "onnxruntime", "int8", flip="off") as int8,
        FerModel.open(str(reference), "auto", "onnxruntime", "fp32", flip="off") as float32,
    ):
        agreement = (
            int8.predict_crops(faces).top_index == float32.predict_crops(faces).top_index
        ).mean()
    assert agreement >= 0.95, f"{name}: INT8 agrees with its float weights on {agreement:.3f}"


@pytest.mark.parametrize("name", ["five_layer", "six_layer", "compact_resnet"])
def test_shipped_int8_probabilities_are_float_not_steps_of_1_255(name, fer2013):
    """The output softmax runs in float (engines/convert/quantize.py, keep_outputs_float):
    rows sum to 1 and the values are not multiples of 1/255 (CSV 0.0078, 0.0118, ...)."""
    import numpy as np

    from fer_live.engines.model import FerModel
    from fer_live.train.datasets import load_faces
    from fer_live.train.evaluate import select_split

    faces = select_split(load_faces(fer2013, load_votes=False), "PrivateTest").images[:64]
    with FerModel.open(name, "single", "onnxruntime", "int8", flip="off") as model:
        probs = model.predict_crops(faces).probs
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    steps = probs * 255
    assert np.abs(steps - np.round(steps)).max() > 0.01
