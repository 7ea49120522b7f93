"""The file names inside a single-model artifact folder, one per backend and precision."""

from __future__ import annotations

ONNX_FILES = {"fp32": "model.onnx", "fp16": "model.fp16.onnx", "int8": "model.int8.onnx"}
KERAS_FILE = "model.keras"
