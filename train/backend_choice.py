"""Which Keras backend trains.

Keras 3 runs the same model code on TensorFlow or PyTorch. On the 2-core AVX2 CPUs we train on,
PyTorch's backend trains five_layer about 1.5-2x faster than TensorFlow's (measured: ~10 vs ~5-7
images/s at batch 64), so training uses it when torch is installed (the `[train]` extra). The
saved `.keras` files are backend-independent; runtime and conversion use TensorFlow/ONNX.
"""

from __future__ import annotations

import importlib.util
import os


def choose_training_backend() -> str:
    """Set KERAS_BACKEND before Keras is first imported; an explicit setting wins."""
    if "KERAS_BACKEND" not in os.environ:
        has_torch = importlib.util.find_spec("torch") is not None
        os.environ["KERAS_BACKEND"] = "torch" if has_torch else "tensorflow"
    return os.environ["KERAS_BACKEND"]
