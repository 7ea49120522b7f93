"""Latency statistics: percentiles and throughput from lists of per-call milliseconds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / p99 / mean in ms (linear interpolation, as numpy's default)."""
    if len(samples_ms) == 0:
        raise ValueError("no samples")
    values = np.asarray(samples_ms, np.float64)
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "p99_ms": float(p99),
        "mean_ms": float(values.mean()),
    }


def images_per_second(batch: int, p50_ms: float) -> float:
    return batch * 1000.0 / p50_ms if p50_ms > 0 else 0.0


IDENTITY_FIELDS = ("model", "backend", "precision", "flip", "batch", "stage", "variant")


def compare_rows(old: list[dict], new: list[dict]) -> list[dict]:
    """Match rows by their identifying fields; ratio = old p50 / new p50 (>1: new is faster)."""

    def key(row: dict) -> tuple:
        return tuple(row.get(k) for k in ("kind", "mode", *IDENTITY_FIELDS))

    previous = {key(row): row for row in old}
    compared = []
    for row in new:
        before = previous.get(key(row))
        if before and before.get("p50_ms") and row.get("p50_ms"):
            compared.append(
                {
                    **{k: row.get(k) for k in IDENTITY_FIELDS if k in row},
                    "old_p50_ms": before["p50_ms"],
                    "new_p50_ms": row["p50_ms"],
                    "speedup": before["p50_ms"] / row["p50_ms"],
                }
            )
    return compared
