"""Converters: Keras -> ONNX FP32, FP16, INT8 (Q/DQ), and TensorRT engines."""

from __future__ import annotations
