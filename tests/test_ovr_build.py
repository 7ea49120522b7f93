from __future__ import annotations

import numpy as np

from fer_live.engines.model import FerModel
from fer_live.train.datasets import load_faces, split_faces
from fer_live.train.ovr import build_ovr_set


def test_ovr_heads_on_a_trunk_make_a_runnable_set(fer2013, model_dir, tmp_path):
    splits = split_faces(load_faces(fer2013))
    train = splits.train.subset(np.arange(700))
    val = splits.val.subset(np.arange(100))
    out = build_ovr_set(
        model_dir / "tiny", train, val, tmp_path / "tiny_ovr", epochs=1, positives=60, per_other=10
    )
    from fer_live.engines.convert.onnx_export import export_onnx
    from fer_live.engines.spec import load_spec

    spec = load_spec(out)
    assert spec.output == "sigmoid" and len(spec.labels) == 7
    export_onnx(out / "model.keras", spec, out / "model.onnx")
    with FerModel.open(str(out), "ovr", "onnxruntime") as model:
        prediction = model.predict_crops([np.zeros((48, 48, 3), np.uint8)] * 4)
    assert prediction.scores.shape == (4, 7)
    assert ((prediction.scores >= 0) & (prediction.scores <= 1)).all()
    np.testing.assert_allclose(prediction.probs.sum(axis=1), 1.0, atol=1e-5)
