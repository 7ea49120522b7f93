"""ONNX Runtime backend for FP32, FP16 and INT8 (Q/DQ) ONNX models; CUDA provider when present."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_live.engines.backends.base import Backend
from fer_live.engines.errors import BackendUnavailableError, ModelFileError
from fer_live.engines.spec import ModelSpec
from fer_live.engines.threads import onnxruntime_threads


def available_providers() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    def __init__(
        self, path: Path, spec: ModelSpec, device: str = "auto", threads: int | None = None
    ) -> None:
        super().__init__(path, spec)
        try:
            import onnxruntime as ort
        except ImportError as error:
            raise BackendUnavailableError("onnxruntime is not installed") from error
        providers = ["CPUExecutionProvider"]
        if device in ("auto", "cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        elif device == "cuda":
            raise BackendUnavailableError(
                "ONNX Runtime has no CUDA provider here", hint="install the [gpu] extra on a GPU"
            )
        options = ort.SessionOptions()
        intra_op, spin = onnxruntime_threads()
        options.intra_op_num_threads = threads or intra_op
        # Spinning worker threads take a core from the pipeline's own threads between calls.
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph/... types
            raise ModelFileError(f"{path}: cannot load ONNX model ({error})") from error
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        declared = tuple(model_input.shape[1:])
        if declared != spec.input_shape:
            raise ModelFileError(
                f"{path}: model input {declared} does not match spec {spec.input_shape}"
            )

    def _run(self, pixels: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: pixels})[0]

    def close(self) -> None:
        self.session = None
