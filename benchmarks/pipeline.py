"""Pipeline latency on a real video: the fer-video job, per stage and end to end."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from fer_live.benchmarks.stats import percentiles
from fer_live.engines.model import FerModel
from fer_live.realtime.detectors import make_detector
from fer_live.realtime.session import RunStats
from fer_live.realtime.video_job import VideoOptions, process_video

# The pipeline's stage names, as the issue names them for a recorded video.
STAGE_NAMES = {
    "capture": "decode",
    "detect": "detect",
    "preprocess": "preprocess",
    "infer": "infer",
    "track": "track",
    "draw": "draw",
    "write": "encode",
}


def bench_video(
    video: Path,
    model: str,
    mode: str,
    backend: str,
    precision: str,
    detector: str = "mediapipe",
    batch_frames: int = 8,
    flip: str = "auto",
) -> list[dict]:
    """Rows per stage (p50/p95 ms per frame) and one end-to-end row, with and without writing the
    annotated video. Start-up (model and detector loading) is timed as its own row."""
    rows: list[dict] = []
    started = time.perf_counter()
    with FerModel.open(model, mode, backend, precision, flip) as fer_model:
        face_detector = make_detector(detector)
        startup_ms = (time.perf_counter() - started) * 1000
        rows.append(
            {
                "kind": "pipeline",
                "variant": "startup",
                "stage": "load",
                "p50_ms": startup_ms,
                "p95_ms": startup_ms,
                "fps": None,
            }
        )
        info = {
            "model": model,
            "mode": fer_model.kind,
            "backend": fer_model.backend_names,
            "precision": fer_model.precisions,
            "flip": fer_model.flip_state,
        }
        try:
            for variant, write_video in (("with_video", True), ("no_video", False)):
                collected: list[RunStats] = []
                with tempfile.TemporaryDirectory() as out:
                    summary = process_video(
                        video,
                        VideoOptions(
                            output_dir=Path(out), write_video=write_video, batch_frames=batch_frames
                        ),
                        fer_model,
                        face_detector,
                        info,
                        on_frame=collected.append,
                    )
                stats = collected[-1]
                for stage, samples in stats.stage_ms.items():
                    if not write_video and stage == "draw":
                        continue
                    p = percentiles(samples)
                    rows.append(
                        {
                            "kind": "pipeline",
                            "variant": variant,
                            "stage": STAGE_NAMES.get(stage, stage),
                            "p50_ms": p["p50_ms"],
                            "p95_ms": p["p95_ms"],
                            "fps": None,
                        }
                    )
                per_frame = [sum(v) for v in zip(*stats.stage_ms.values(), strict=False)]
                rows.append(
                    {
                        "kind": "pipeline",
                        "variant": variant,
                        "stage": "end_to_end",
                        "p50_ms": float(np.median(per_frame)),
                        "p95_ms": float(np.percentile(per_frame, 95)),
                        "fps": summary["processing_fps"],
                        "frames": summary["frames_processed"],
                        "faces": summary["faces"],
                        "detector_share": summary["detector_share"],
                        **info,
                    }
                )
        finally:
            face_detector.close()
    return rows
