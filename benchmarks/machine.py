"""What a benchmark ran on: CPU, threads, versions, date."""

from __future__ import annotations

import datetime
import os
import platform
from importlib import metadata


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# The vector extensions that decide INT8 and bfloat16 speed, best first (from /proc/cpuinfo).
_ISA_FLAGS = ("amx_int8", "avx512_bf16", "avx512_vnni", "avx512f", "avx2")


def _isa() -> str:
    """E.g. "avx512_vnni avx512f avx2": the flags of _ISA_FLAGS this CPU has."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return " ".join(flag for flag in _ISA_FLAGS if flag in flags) or "none"
    except OSError:
        pass
    return "unknown"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_header() -> dict:
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu": _cpu_name(),
        "isa": _isa(),
        "cpu_count": os.cpu_count(),
        "gpu": None,
        "python": platform.python_version(),
        "versions": {
            p: _version(p)
            for p in (
                "fer-live",
                "onnxruntime",
                "tensorflow",
                "keras",
                "mediapipe",
                "opencv-contrib-python",
                "numpy",
            )
        },
    }
