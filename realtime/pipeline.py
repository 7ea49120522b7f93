"""The shared pipeline of fer-live and fer-video: detect -> crop -> batch -> infer -> track/smooth.

Faces of `batch_frames` consecutive frames go to the model in one call (1 for live video, more
for recorded video, where latency does not matter and bigger batches are cheaper per face).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from engines.model import FerModel
from realtime.geometry import crop_faces
from realtime.tracking import IouTracker, smooth
from realtime.types import FaceBoxes, FaceResult, Frame, FrameResult, Timings


@dataclass(frozen=True)
class PipelineOptions:
    """margin: crop growth around each box (share of its side);
    smooth_alpha: EMA weight of the newest frame (1 = off)."""

    margin: float = 0.2
    smooth_alpha: float = 0.5
    batch_frames: int = 1
    track_iou: float = 0.2
    track_max_age_s: float = 1.0


@dataclass
class _Pending:
    frame: Frame
    boxes: FaceBoxes
    crops: list[np.ndarray]
    timings: Timings = field(default_factory=Timings)


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


class Pipeline:
    def __init__(self, model: FerModel, detector, options: PipelineOptions | None = None) -> None:
        self.model = model
        self.detector = detector
        self.options = options or PipelineOptions()
        self.tracker = IouTracker(self.options.track_iou, self.options.track_max_age_s)
        self.inference_calls = 0

    def run(self, frames: Iterable[Frame]) -> Iterator[FrameResult]:
        pending: list[_Pending] = []
        iterator = iter(frames)
        while True:
            waited = time.perf_counter()
            frame = next(iterator, None)
            if frame is None:
                break
            item = _Pending(frame, FaceBoxes.empty(), [])
            item.timings.add("capture", _ms_since(waited))
            started = time.perf_counter()
            item.boxes = self.detector.detect(frame.image)
            item.timings.add("detect", _ms_since(started))
            started = time.perf_counter()
            item.crops = crop_faces(frame.image, item.boxes.xyxy, self.options.margin)
            item.timings.add("preprocess", _ms_since(started))
            pending.append(item)
            if len(pending) >= self.options.batch_frames:
                yield from self._flush(pending)
                pending = []
        yield from self._flush(pending)

    def _flush(self, pending: list[_Pending]) -> Iterator[FrameResult]:
        if not pending:
            return
        crops = [crop for item in pending for crop in item.crops]
        started = time.perf_counter()
        inputs = self.model.prepare(crops)
        preprocess_ms = _ms_since(started)
        started = time.perf_counter()
        prediction = self.model.run(inputs)
        infer_ms = _ms_since(started)
        if crops:
            self.inference_calls += 1
        offset = 0
        for item in pending:
            # Batch-level costs are shared evenly by the frames of the batch.
            item.timings.add("preprocess", preprocess_ms / len(pending))
            item.timings.add("infer", infer_ms / len(pending))
            count = len(item.boxes)
            started = time.perf_counter()
            faces = self._track(item, prediction.probs[offset : offset + count])
            item.timings.add("track", _ms_since(started))
            offset += count
            yield FrameResult(item.frame, faces, item.timings)

    def _track(self, item: _Pending, probs: np.ndarray) -> list[FaceResult]:
        ids = self.tracker.update(item.boxes.xyxy, item.frame.timestamp_s)
        faces = []
        for row, face_id in enumerate(ids):
            track = self.tracker.track(face_id)
            smoothed = smooth(track, probs[row], self.options.smooth_alpha).copy()
            faces.append(
                FaceResult(
                    face_id,
                    item.boxes.xyxy[row],
                    float(item.boxes.scores[row]),
                    probs[row].copy(),
                    smoothed,
                )
            )
        return faces
