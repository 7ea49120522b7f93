"""TensorRT engine building (GPU machines only; not runnable on the CPU-only project machines)."""

from __future__ import annotations

from pathlib import Path

from engines.backends.tensorrt_backend import require_tensorrt
from engines.errors import BackendUnavailableError
from engines.spec import ModelSpec


def build_engine(folder: Path, spec: ModelSpec) -> Path:
    require_tensorrt()
    raise BackendUnavailableError("building TensorRT engines is not implemented yet")
