"""How far the pipeline's savings (key-frame detection, reuse of probabilities) move its results
from per-frame processing, on real clips with the real detector and model.

    python -m fer_live.benchmarks.agreement ../shared/media/talking_head_webcam_man.mp4 \
        --model five_layer

Both runs see the same decoded frames. Per frame, faces of the two runs are paired greedily by
box IoU (pairs under 0.3 are no pair). Reported:
- median box IoU of the pairs;
- share of paired face-frames with the same label: argmax of the raw probabilities (what
  fer-video writes by default) and of the per-face smoothed ones (what fer-live shows and
  `fer-video --smooth` writes; both runs smooth with the same alpha);
- faces per frame of each run;
- the longest time a face of the per-frame run (its track) went without a pair: a face missed;
- how often the per-frame run's own label changes from one frame to the next within a track:
  the model's flicker, which bounds how well any carried box can keep its labels;
- the detector's share of frames and the model's share of faces in the saving run;
- frames per second of each run in this process (pipeline only: no decoding, drawing or writing).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from fer_live.engines.cli_support import run_cli
from fer_live.engines.store import DEFAULT_MODEL, RUNTIME_FLIP
from fer_live.realtime.geometry import iou_matrix
from fer_live.realtime.pipeline import Pipeline, PipelineOptions
from fer_live.realtime.types import Frame, FrameResult

PAIR_IOU = 0.3
PER_FRAME = PipelineOptions(detect_every=1, reuse_change=0.0)


@dataclass(frozen=True)
class Agreement:
    frames: int
    median_iou: float
    same_label: float
    same_label_smoothed: float
    faces_per_frame_reference: float
    faces_per_frame: float
    longest_miss_s: float
    reference_label_changes: float
    reference_label_changes_smoothed: float
    detector_share: float
    model_share: float
    fps_reference: float
    fps: float


def read_frames(path: Path, limit: int | None = None) -> list[Frame]:
    from fer_live.realtime.sources import open_source

    frames = []
    with open_source(str(path)) as source:
        for frame in source:
            frames.append(frame)
            if limit is not None and len(frames) >= limit:
                break
    return frames


def _run(model, detector, frames: list[Frame], options: PipelineOptions):
    pipeline = Pipeline(model, detector, options)
    started = time.perf_counter()
    results = list(pipeline.run(frames))
    seconds = time.perf_counter() - started
    return results, pipeline, len(frames) / seconds


def compare(reference: list[FrameResult], candidate: list[FrameResult]) -> dict[str, float]:
    """IoU, label agreement and misses of `candidate` against `reference`, frame by frame."""
    ious, same, same_smoothed, missing_since = [], [], [], {}
    longest_miss = 0.0
    for ref, new in zip(reference, candidate, strict=True):
        now = ref.frame.timestamp_s
        paired = set()
        if ref.faces and new.faces:
            overlap = iou_matrix(
                np.stack([f.box for f in ref.faces]), np.stack([f.box for f in new.faces])
            )
            used_ref, used_new = set(), set()
            for flat in np.argsort(-overlap, axis=None):
                row, col = divmod(int(flat), overlap.shape[1])
                if overlap[row, col] < PAIR_IOU:
                    break
                if row in used_ref or col in used_new:
                    continue
                used_ref.add(row)
                used_new.add(col)
                ious.append(overlap[row, col])
                same.append(ref.faces[row].probs.argmax() == new.faces[col].probs.argmax())
                same_smoothed.append(
                    ref.faces[row].smoothed.argmax() == new.faces[col].smoothed.argmax()
                )
                paired.add(ref.faces[row].face_id)
        for face in ref.faces:
            if face.face_id in paired:
                missing_since.pop(face.face_id, None)
            else:
                start = missing_since.setdefault(face.face_id, now)
                longest_miss = max(longest_miss, now - start + _frame_s(reference))
    return {
        "median_iou": float(np.median(ious)) if ious else 0.0,
        "same_label": float(np.mean(same)) if same else 0.0,
        "same_label_smoothed": float(np.mean(same_smoothed)) if same_smoothed else 0.0,
        "faces_per_frame_reference": sum(len(r.faces) for r in reference) / len(reference),
        "faces_per_frame": sum(len(r.faces) for r in candidate) / len(candidate),
        "longest_miss_s": longest_miss,
    }


def label_changes(results: list[FrameResult], smoothed: bool = False) -> float:
    """Share of a track's consecutive face-frames whose label (argmax of the raw or the smoothed
    probabilities) differs."""
    last: dict[int, int] = {}
    changes = pairs = 0
    for result in results:
        for face in result.faces:
            label = int((face.smoothed if smoothed else face.probs).argmax())
            if face.face_id in last:
                pairs += 1
                changes += label != last[face.face_id]
            last[face.face_id] = label
    return changes / pairs if pairs else 0.0


def _frame_s(results: list[FrameResult]) -> float:
    if len(results) < 2:
        return 0.0
    return (results[-1].frame.timestamp_s - results[0].frame.timestamp_s) / (len(results) - 1)


def measure(model, detector, frames: list[Frame], options: PipelineOptions) -> Agreement:
    """Per-frame processing vs `options` on the same frames (one model, one detector)."""
    reference, _, fps_reference = _run(model, detector, frames, PER_FRAME)
    candidate, pipeline, fps = _run(model, detector, frames, options)
    return Agreement(
        frames=len(frames),
        **compare(reference, candidate),
        reference_label_changes=label_changes(reference),
        reference_label_changes_smoothed=label_changes(reference, smoothed=True),
        detector_share=pipeline.keyframes.detector_share,
        model_share=pipeline.faces_classified / max(pipeline.faces_seen, 1),
        fps_reference=fps_reference,
        fps=fps,
    )


app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command(help=__doc__)
def main(
    clips: list[Path],
    model: str = DEFAULT_MODEL,
    detector: str = "mediapipe",
    batch_frames: Annotated[int, typer.Option(min=1, max=256)] = 8,
    max_interval: Annotated[
        int, typer.Option(min=1, max=64, help="longest gap between key frames (default 8)")
    ] = 8,
    json_path: Annotated[Path | None, typer.Option("--json")] = None,
) -> None:
    def work() -> None:
        from fer_live.benchmarks.machine import machine_header
        from fer_live.engines.model import FerModel
        from fer_live.realtime.detectors import make_detector

        loaded = FerModel.open(model, flip=RUNTIME_FLIP)
        face_detector = make_detector(detector)
        options = PipelineOptions(batch_frames=batch_frames, detect_max_interval=max_interval)
        rows = {}
        try:
            for clip in clips:
                frames = read_frames(clip)
                # Warm-up outside the timing: the first calls allocate.
                _run(loaded, face_detector, frames[:8], PER_FRAME)
                rows[clip.name] = asdict(measure(loaded, face_detector, frames, options))
                print(clip.name, json.dumps(rows[clip.name]), flush=True)
        finally:  # mediapipe's own finaliser fails at interpreter exit
            face_detector.close()
            loaded.close()
        if json_path is not None:
            report = {"header": machine_header(), "model": model, "options": asdict(options)}
            json_path.write_text(json.dumps({**report, "clips": rows}, indent=2) + "\n")

    run_cli(work)


if __name__ == "__main__":
    app()
