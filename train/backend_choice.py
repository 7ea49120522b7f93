"""Which Keras backend and numeric precision train, chosen from the CPU's instruction set.

Measured with five_layer, batch 64, Keras 3.15 (ad-hoc timing of `model.fit` on random data):
- Intel Xeon with AVX-512 BF16 / AMX (2 cores): TensorFlow mixed_bfloat16 74.7 images/s,
  TensorFlow float32 53.7, PyTorch backend mixed_bfloat16 42.0, PyTorch float32 34.3.
- AMD EPYC with AVX2 only (2 cores): PyTorch float32 ~9-11 images/s, TensorFlow float32 ~5-7;
  mixed_bfloat16 is emulated there and far slower than float32.
So: bfloat16 only where the CPU has it natively, TensorFlow where AVX-512 exists, otherwise
PyTorch when installed (the `[train]` extra). Saved `.keras` files are backend independent and
keep float32 variables under mixed precision, so a run may resume on either kind of machine.
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache
from pathlib import Path

PRECISIONS = ("float32", "mixed_bfloat16")


@cache
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of /proc/cpuinfo (empty where it does not exist)."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return frozenset()
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def cpu_has_native_bfloat16() -> bool:
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def choose_training_backend() -> str:
    """Set KERAS_BACKEND before Keras is first imported; an explicit setting wins."""
    if "KERAS_BACKEND" not in os.environ:
        has_torch = importlib.util.find_spec("torch") is not None
        prefer_torch = has_torch and "avx512f" not in cpu_flags()
        os.environ["KERAS_BACKEND"] = "torch" if prefer_torch else "tensorflow"
    return os.environ["KERAS_BACKEND"]


def resolve_precision(requested: str) -> str:
    """'auto' -> mixed_bfloat16 on CPUs with native bfloat16, else float32."""
    from fer_live.engines.errors import UnknownNameError

    if requested == "auto":
        return "mixed_bfloat16" if cpu_has_native_bfloat16() else "float32"
    if requested not in PRECISIONS:
        raise UnknownNameError("training precision", requested, ("auto", *PRECISIONS))
    return requested


def tensorflow_installed() -> bool:
    """Whether `import tensorflow` can work (an import hook that refuses it counts as absent)."""
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):
        return False


def import_tensorflow_quietly() -> None:
    """Import TensorFlow (when installed) with fd 2 muted: its CUDA stub and absl write
    "Could not find cuda drivers" and "All log messages before absl::InitializeLog()" straight
    to the descriptor before TF_CPP_MIN_LOG_LEVEL is read, on every CPU-only run."""
    if not tensorflow_installed():
        return
    from fer_live.realtime.quiet import native_stderr_muted

    with native_stderr_muted():
        try:
            import tensorflow
        except ImportError:  # a broken or partial install: fer-train goes on without it
            return
        tensorflow.config.list_physical_devices()  # device probing logs "cuInit failed" once
