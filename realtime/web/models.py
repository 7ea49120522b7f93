"""The models fer-serve has loaded, by (model, mode): loaded once, shared by all connections.

ONNX Runtime sessions may run from several threads at once, so one FerModel serves every live
connection, the job queue's worker has its own (fer-video's ModelWorker), and the image API.
"""

from __future__ import annotations

import threading

from fer_live.engines.model import FerModel
from fer_live.engines.store import RUNTIME_FLIP, available_names

MAX_LOADED = 4  # distinct (model, mode) pairs kept; beyond it the oldest non-default is dropped


class ModelCache:
    def __init__(self, default_model: str, default_mode: str) -> None:
        self.default = (default_model, default_mode)
        self._models: dict[tuple[str, str], FerModel] = {}
        self._lock = threading.Lock()
        self.get(default_model, default_mode)  # a wrong --model fails at start, not per request

    def get(self, model: str, mode: str) -> FerModel:
        key = (model, mode)
        with self._lock:
            if key not in self._models:
                self._models[key] = FerModel.open(model, mode, flip=RUNTIME_FLIP)
                for old in [k for k in self._models if k not in (key, self.default)]:
                    if len(self._models) <= MAX_LOADED:
                        break
                    # Not closed: a live thread may still be inside a call on it; dropped
                    # references free its sessions once that call returns.
                    del self._models[old]
            return self._models[key]

    @staticmethod
    def names() -> list[str]:
        return available_names()

    def close(self) -> None:
        with self._lock:
            for model in self._models.values():
                model.close()
            self._models.clear()
