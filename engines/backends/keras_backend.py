"""Keras reference backend (TensorFlow): loads `model.keras`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_live.engines.backends.base import Backend
from fer_live.engines.errors import BackendUnavailableError, ModelFileError
from fer_live.engines.spec import ModelSpec


class KerasBackend(Backend):
    name = "keras"

    def __init__(self, path: Path, spec: ModelSpec) -> None:
        super().__init__(path, spec)
        import os

        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        try:
            import keras
        except ImportError as error:  # the runtime install has no Keras/TensorFlow
            raise BackendUnavailableError(
                "the keras backend needs Keras and TensorFlow",
                hint="pip install 'fer-live[train]', or --backend onnxruntime",
            ) from error

        try:
            self.model = keras.models.load_model(path, compile=False)
        except Exception as error:  # Keras raises many types for a bad file; all mean the same here
            raise ModelFileError(f"{path}: cannot load Keras model ({error})") from error
        input_shape = tuple(self.model.input_shape[1:])
        if input_shape != spec.input_shape:
            raise ModelFileError(
                f"{path}: model input {input_shape} does not match spec {spec.input_shape}"
            )

    def _run(self, pixels: np.ndarray) -> np.ndarray:
        # Direct call, not predict(): predict() builds a tf.data pipeline per call (slow per frame).
        return self.model(pixels, training=False).numpy()
