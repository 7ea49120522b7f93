"""Every registered architecture converts: Keras -> ONNX FP32 -> FP16 and INT8 Q/DQ (random
weights; the transfer models without their ImageNet download). ONNX FP32 must match Keras."""

from __future__ import annotations

import numpy as np
import pytest

from train.architectures import get_architecture, list_architectures


@pytest.mark.parametrize("name", list_architectures())
def test_architecture_converts_to_every_onnx_precision(name, tmp_path):
    import keras
    import onnxruntime as ort

    from engines.convert.onnx_export import export_onnx
    from engines.convert.quantize import convert_fp16, convert_int8
    from train.architectures import build_model

    keras.utils.set_random_seed(7)
    spec = get_architecture(name).spec
    model = build_model(name)
    model.save(tmp_path / "model.keras")
    faces = np.random.default_rng(7).random((6, *spec.input_shape), dtype=np.float32)
    if spec.normalization == "caffe":
        faces = faces * 255 - 120  # the value range of caffe-normalised pixels
    reference = model.predict(faces[:2], verbose=0)

    fp32 = export_onnx(tmp_path / "model.keras", spec, tmp_path / "model.onnx")
    fp16 = convert_fp16(fp32, spec, tmp_path / "model.fp16.onnx")
    int8 = convert_int8(fp32, spec, tmp_path / "model.int8.onnx", faces, batch_size=2)
    outputs = {}
    for path in (fp32, fp16, int8):
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        outputs[path.name] = session.run(None, {session.get_inputs()[0].name: faces[:2]})[0]
    np.testing.assert_allclose(outputs["model.onnx"], reference, atol=1e-4)
    np.testing.assert_allclose(outputs["model.fp16.onnx"], reference, atol=2e-2)
    for probs in outputs.values():
        assert probs.shape == (2, 7)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-2)
