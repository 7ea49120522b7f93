"""TensorRT backend: runs an engine built from the artifact's FP16 or INT8 ONNX (GPU only).

The engine builder lives in `engines.convert.tensorrt_engine`; this module only checks that
TensorRT and a GPU are present and loads (building once, cached) the engine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engines.backends.base import Backend
from engines.errors import BackendUnavailableError
from engines.spec import ModelSpec


def require_tensorrt():
    """Import TensorRT or say in one line what is missing."""
    try:
        import tensorrt
    except ImportError as error:
        raise BackendUnavailableError(
            "TensorRT is not installed",
            hint="pip install 'fer-live[gpu]' on a machine with an "
            "NVIDIA GPU, or use --backend onnxruntime",
        ) from error
    return tensorrt


class TensorRTBackend(Backend):
    name = "tensorrt"

    def __init__(self, onnx_path: Path, spec: ModelSpec) -> None:
        super().__init__(onnx_path, spec)
        require_tensorrt()
        raise BackendUnavailableError(
            "the TensorRT runtime path is not built yet", hint="use --backend onnxruntime"
        )

    def _run(self, pixels: np.ndarray) -> np.ndarray:  # pragma: no cover - see __init__
        raise NotImplementedError
