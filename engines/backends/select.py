"""Opening a backend for one artifact folder, and what `auto` picks.

`auto` prefers the fastest format present whose recorded accuracy loss (metrics.json, written by
fer-convert) is within 0.5 points of FP32: on a GPU TensorRT INT8, then FP16; on a CPU ONNX Runtime
INT8, then ONNX FP32, then Keras. Where no file present is within it (a folder that ships only a
lossier INT8 file, to keep within the size budget), the files present are used as they are: the
limit chooses between formats, it does not refuse the only one there is.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fer_live.engines.artifacts import METRICS_FILE, read_json
from fer_live.engines.backends.base import Backend
from fer_live.engines.errors import BackendUnavailableError, ModelFileError, UnknownNameError
from fer_live.engines.model_files import KERAS_FILE, ONNX_FILES
from fer_live.engines.spec import ModelSpec

log = logging.getLogger(__name__)

BACKENDS = ("auto", "onnxruntime", "keras", "tensorrt")
PRECISIONS = ("auto", "fp32", "fp16", "int8")
MAX_ACCURACY_LOSS = 0.005  # 0.5 points


def accuracy_loss(folder: Path, precision: str) -> float | None:
    """FP32 accuracy minus `precision` accuracy as recorded by fer-convert, or None if unknown."""
    metrics = read_json(folder / METRICS_FILE)
    converted = metrics.get(f"conversion/{precision}", {})
    if "accuracy" in converted and "reference_accuracy" in converted:
        return float(converted["reference_accuracy"]) - float(converted["accuracy"])
    return None


def _precision_ok(folder: Path, precision: str) -> bool:
    if precision == "fp32":
        return True
    loss = accuracy_loss(folder, precision)
    return loss is not None and loss <= MAX_ACCURACY_LOSS


def candidates(folder: Path, backend: str, precision: str) -> list[tuple[str, str]]:
    """(backend, precision) pairs to try, best first, for the files present in `folder`."""
    if backend not in BACKENDS:
        raise UnknownNameError("backend", backend, BACKENDS)
    if precision not in PRECISIONS:
        raise UnknownNameError("precision", precision, PRECISIONS)
    order = [
        ("tensorrt", "int8"),
        ("tensorrt", "fp16"),
        ("onnxruntime", "int8"),
        ("onnxruntime", "fp32"),
        ("keras", "fp32"),
        ("onnxruntime", "fp16"),
        ("tensorrt", "fp32"),
    ]
    present = []
    for pair_backend, pair_precision in order:
        if backend != "auto" and pair_backend != backend:
            continue
        if precision != "auto" and pair_precision != precision:
            continue
        file = KERAS_FILE if pair_backend == "keras" else ONNX_FILES[pair_precision]
        if (folder / file).is_file():
            present.append((pair_backend, pair_precision))
    if precision != "auto":
        return present
    within_limit = [pair for pair in present if _precision_ok(folder, pair[1])]
    return within_limit or present


def open_backend(
    folder: Path, spec: ModelSpec, backend: str = "auto", precision: str = "auto"
) -> Backend:
    pairs = candidates(folder, backend, precision)
    if not pairs:
        present = sorted(p.name for p in folder.glob("model*"))
        raise ModelFileError(
            f"{folder}: no model file for backend {backend} / precision {precision} "
            f"(present: {', '.join(present) or 'none'})",
            hint="convert one with fer-convert",
        )
    errors = []
    for pair_backend, pair_precision in pairs:
        try:
            return _open(folder, spec, pair_backend, pair_precision)
        except BackendUnavailableError as error:
            if backend != "auto":
                raise
            log.debug("auto: %s/%s unavailable: %s", pair_backend, pair_precision, error.message)
            errors.append(error.message)
    raise BackendUnavailableError(f"{folder}: no usable backend ({'; '.join(errors)})")


def _open(folder: Path, spec: ModelSpec, backend: str, precision: str) -> Backend:
    run_spec = spec.with_precision(precision)
    if backend == "keras":
        from fer_live.engines.backends.keras_backend import KerasBackend

        return KerasBackend(folder / KERAS_FILE, run_spec)
    if backend == "onnxruntime":
        from fer_live.engines.backends.onnxruntime_backend import OnnxRuntimeBackend

        return OnnxRuntimeBackend(folder / ONNX_FILES[precision], run_spec)
    from fer_live.engines.backends.tensorrt_backend import TensorRTBackend

    return TensorRTBackend(folder / ONNX_FILES[precision], run_spec)
