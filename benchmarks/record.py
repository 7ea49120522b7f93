"""`fer-bench --record`: classifier timings and parameter counts stored in each model's metrics.

Stored beside the accuracy figures so that a model folder says what it costs as well as how well
it does, with the CPU and the command that measured it (a speed figure without its CPU means
little: the same file runs 2-3× faster on a VNNI Xeon than on an AVX2-only EPYC).
"""

from __future__ import annotations

from fer_live.benchmarks.machine import machine_header
from fer_live.engines.artifacts import record_metrics
from fer_live.engines.parameters import artifact_parameters
from fer_live.engines.store import resolve_model


def speed_key(row: dict) -> str:
    """E.g. speed/onnxruntime/int8/batch32, with /flip-on when the mirror ran too."""
    key = f"speed/{row['backend']}/{row['precision']}/batch{row['batch']}"
    return key if row["flip"] == "off" else f"{key}/flip-{row['flip']}"


def record_rows(rows: list[dict]) -> list[str]:
    """Store every timed classifier row in its model's folder; returns the models written to.
    A comma-list ensemble has no folder of its own, so its rows are not stored."""
    header = machine_header()
    written: list[str] = []
    for row in rows:
        if row.get("kind") != "classifier" or "skipped" in row:
            continue
        artifact = resolve_model(row["model"], row["mode"])
        if artifact.name != row["model"]:
            continue
        record_metrics(
            artifact.folder,
            speed_key(row),
            {
                "p50_ms": row["p50_ms"],
                "p95_ms": row["p95_ms"],
                "per_face_ms": row["p50_ms"] / row["batch"],
                "images_per_s": row["images_per_s"],
                "cpu": header["cpu"],
                "isa": header["isa"],
                "cpu_count": header["cpu_count"],
            },
        )
        record_metrics(artifact.folder, "parameters", {"parameters": artifact_parameters(artifact)})
        if row["model"] not in written:
            written.append(row["model"])
    return written
