"""The backend interface every inference engine implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from fer_live.engines.errors import ModelFileError
from fer_live.engines.spec import ModelSpec


class Backend(ABC):
    """A loaded model. `predict` takes `to_model_input` output and returns N×len(spec.labels)."""

    name: str = "backend"

    def __init__(self, path: Path, spec: ModelSpec) -> None:
        self.path = path
        self.spec = spec

    @abstractmethod
    def _run(self, pixels: np.ndarray) -> np.ndarray: ...

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        expected = (self.spec.height, self.spec.width, self.spec.channels)
        if pixels.ndim != 4 or pixels.shape[1:] != expected:
            raise ModelFileError(
                f"{self.path}: input of shape {pixels.shape[1:]} given, spec says {expected}"
            )
        if len(pixels) == 0:
            return np.zeros((0, len(self.spec.labels)), np.float32)
        return np.asarray(self._run(np.ascontiguousarray(pixels, np.float32)), np.float32)

    def close(self) -> None:  # noqa: B027 - optional hook, most backends have nothing to free
        """Release the model (sessions, GPU memory)."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
