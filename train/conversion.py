"""fer-convert's job: run a converter on an artifact folder and record what it cost in accuracy."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from fer_live.engines.artifacts import record_metrics
from fer_live.engines.backends.select import ONNX_FILES
from fer_live.engines.errors import UnknownNameError, UsageError
from fer_live.engines.preprocess import to_model_input
from fer_live.engines.spec import load_spec
from fer_live.engines.store import load_artifact
from fer_live.train.datasets import load_faces
from fer_live.train.evaluate import select_split

TARGETS = ("onnx", "fp16", "int8", "tensorrt")


def convert_artifact(
    model: str,
    to: str,
    *,
    calib_data: Path | None,
    calib_size: int,
    calib_method: str,
    eval_data: Path | None,
    int8_for: str = "cpu",
    eval_split: str,
    out: Path | None,
    max_batch: int = 64,
) -> dict[str, Any]:
    if to not in TARGETS:
        raise UnknownNameError("conversion target", to, TARGETS)
    artifact = load_artifact(model)
    if artifact.members:
        # Ensembles and OVR sets of separate networks convert member by member, each in its
        # own folder; a one-network OVR set (seven sigmoid heads) converts like a single model.
        return {
            "path": str(artifact.folder),
            "members": [
                convert_artifact(
                    str(m.folder),
                    to,
                    calib_data=calib_data,
                    calib_size=calib_size,
                    calib_method=calib_method,
                    eval_data=eval_data,
                    int8_for=int8_for,
                    eval_split=eval_split,
                    out=None,
                )
                for m in artifact.members
            ],
        }
    folder = artifact.folder
    if out is not None and out.resolve() != folder.resolve():
        shutil.copytree(folder, out, dirs_exist_ok=True)
        folder = out
    spec = load_spec(folder)
    fp32 = folder / ONNX_FILES["fp32"]
    if to == "tensorrt":
        from fer_live.engines.convert.tensorrt_engine import build_engine

        return {"path": str(build_engine(folder, spec, max_batch=max_batch))}
    if to == "onnx" or not fp32.is_file():
        from fer_live.engines.convert.onnx_export import export_onnx

        if not (folder / "model.keras").is_file():
            raise UsageError(f"{folder}: no model.keras to export from")
        export_onnx(folder / "model.keras", spec, fp32)
    if to == "onnx":
        path = fp32
    elif to == "fp16":
        from fer_live.engines.convert.quantize import convert_fp16

        path = convert_fp16(fp32, spec, folder / ONNX_FILES["fp16"])
    else:
        from fer_live.engines.convert.quantize import (
            ACTIVATION_SCHEMES,
            WEIGHT_FORMAT,
            convert_int8,
        )

        if calib_data is None:
            raise UsageError("INT8 needs calibration faces", hint="--calib-data fer2013.npz")
        faces = select_split(load_faces(calib_data), "Training")
        chosen = np.random.default_rng(0).permutation(len(faces))[:calib_size]
        pixels = to_model_input(faces.images[np.sort(chosen)], spec)
        path = convert_int8(
            fp32, spec, folder / ONNX_FILES["int8"], pixels, calib_method, target=int8_for
        )
        record_metrics(
            folder,
            "calibration/int8",
            {
                "method": calib_method,
                "faces": len(chosen),
                "source": str(calib_data),
                "split": "Training",
                "format": WEIGHT_FORMAT,
                "target": int8_for,
                "activations": ACTIVATION_SCHEMES[int8_for],
            },
        )
    result: dict[str, Any] = {"path": str(path)}
    if eval_data is not None:
        result.update(measure_cost(folder, to, eval_data, eval_split))
    return result


def measure_cost(folder: Path, to: str, data: Path, split: str) -> dict[str, Any]:
    """Accuracy of the converted model, of FP32, top-1 agreement and max probability difference."""
    from fer_live.engines.backends.onnxruntime_backend import OnnxRuntimeBackend
    from fer_live.train.metrics import classification_report

    precision = "fp32" if to == "onnx" else to
    spec = load_spec(folder)
    faces = select_split(load_faces(data), split)
    pixels = to_model_input(faces.images, spec)

    def run(backend) -> np.ndarray:
        with backend:  # batches of 256 keep memory small on large test sets
            return np.concatenate(
                [backend.predict(pixels[i : i + 256]) for i in range(0, len(pixels), 256)]
            )

    def onnx(file_precision: str):
        path = folder / ONNX_FILES[file_precision]
        return OnnxRuntimeBackend(path, spec.with_precision(file_precision))

    reference = run(onnx("fp32"))
    converted = reference if precision == "fp32" else run(onnx(precision))
    if precision == "fp32" and (folder / "model.keras").is_file():
        from fer_live.engines.backends.keras_backend import KerasBackend

        reference = run(KerasBackend(folder / "model.keras", spec))
    truth = faces.labels
    cost = {
        "precision": precision,
        "reference": "keras fp32" if precision == "fp32" else "onnx fp32",
        "split": split,
        "n": len(truth),
        "accuracy": classification_report(truth, converted.argmax(1))["accuracy"],
        "reference_accuracy": classification_report(truth, reference.argmax(1))["accuracy"],
        "agreement": float((converted.argmax(1) == reference.argmax(1)).mean()),
        "max_abs_diff": float(np.abs(converted - reference).max()),
    }
    record_metrics(folder, f"conversion/{precision}", cost)
    return cost
