"""Backends: one interface, `predict(pixels: float32 N×H×W×C) -> float32 N×C`, over every format."""

from __future__ import annotations

from fer_live.engines.backends.base import Backend

__all__ = ["Backend"]
