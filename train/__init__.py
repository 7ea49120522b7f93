"""Training and evaluation: datasets and their variants, architectures, `fer-train`, `fer-eval`."""

from __future__ import annotations
