"""The pipeline of fer-live and fer-video: detect -> track -> crop -> batch -> infer -> smooth.

Faces of `batch_frames` consecutive frames go to the model in one call (1 for live video, more
for recorded video, where latency does not matter and bigger batches are cheaper per face).

Two savings, both on by default and measured against per-frame processing in the README:
- the detector runs on key frames only (realtime/keyframes.py; `detect_every=1` turns it off);
- a tracked face whose crop has hardly changed since it was last classified keeps those
  probabilities (`reuse_change=0` turns it off), for at most `reuse_max_s` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from fer_live.engines.model import FerModel
from fer_live.realtime.geometry import crop_faces
from fer_live.realtime.keyframes import KeyFrameDetector, KeyFrameOptions
from fer_live.realtime.tracking import IouTracker, Track, smooth
from fer_live.realtime.types import FaceBoxes, FaceResult, Frame, FrameResult, Timings


@dataclass(frozen=True)
class PipelineOptions:
    """margin: crop growth around each box (share of its side);
    smooth_alpha: EMA weight of the newest frame (1 = off)."""

    margin: float = 0.2
    smooth_alpha: float = 0.5
    batch_frames: int = 1
    track_iou: float = 0.2
    track_max_age_s: float = 1.0
    detect_every: int = 0  # 0: adaptive key frames; N: every N-th frame; 1: every frame
    detect_max_interval: int = 8  # adaptive key frames: the longest run of frames between them
    reuse_change: float = 0.0  # mean |Δ| (0..1) of a face's 24×24 gray thumbnail; 0: never reuse
    reuse_max_s: float = 0.5


REUSE_THUMB = 24


@dataclass
class _Pending:
    """One frame between detection and inference. classify[i]: face i goes to the model;
    otherwise it keeps its track's last probabilities."""

    frame: Frame
    boxes: FaceBoxes
    crops: list[np.ndarray]
    tracks: list[Track] = field(default_factory=list)
    classify: list[bool] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)


class _Done:
    """A finished classification with the interface of a Future (live video's path)."""

    def __init__(self, value) -> None:
        self.value = value

    def result(self):
        return self.value


def _run_now(function, *args) -> _Done:
    return _Done(function(*args))


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


class Pipeline:
    def __init__(self, model: FerModel, detector, options: PipelineOptions | None = None) -> None:
        self.model = model
        self.detector = detector
        self.options = options or PipelineOptions()
        self.keyframes = KeyFrameDetector(
            detector,
            KeyFrameOptions(
                interval=self.options.detect_every, max_interval=self.options.detect_max_interval
            ),
        )
        self.tracker = IouTracker(self.options.track_iou, self.options.track_max_age_s)
        self.inference_calls = 0
        self.faces_seen = 0
        self.faces_classified = 0

    def run(self, frames: Iterable[Frame]) -> Iterator[FrameResult]:
        """Results in frame order. With batch_frames > 1 (recorded video) a batch is classified
        on a worker thread while the next batch's frames are detected and tracked on this one,
        so the two cores share the work; live video (1) stays on this thread, without the one
        frame of extra latency that would add."""
        if self.options.batch_frames <= 1:
            yield from self._run(frames, _run_now, overlap=False)
            return
        with ThreadPoolExecutor(1, thread_name_prefix="classify") as executor:
            yield from self._run(frames, executor.submit, overlap=True)

    def _run(self, frames: Iterable[Frame], submit, overlap: bool) -> Iterator[FrameResult]:
        in_flight = None  # (batch, its classification) submitted but not yet yielded
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
            item.boxes, _ = self.keyframes.detect(frame.image, frame.timestamp_s)
            item.timings.add("detect", _ms_since(started))
            started = time.perf_counter()
            ids = self.tracker.update(item.boxes.xyxy, frame.timestamp_s)
            item.tracks = [self.tracker.track(face_id) for face_id in ids]
            item.timings.add("track", _ms_since(started))
            started = time.perf_counter()
            item.crops = crop_faces(frame.image, item.boxes.xyxy, self.options.margin)
            item.classify = [
                self._needs_model(track, crop, frame)
                for track, crop in zip(item.tracks, item.crops, strict=True)
            ]
            item.timings.add("preprocess", _ms_since(started))
            pending.append(item)
            if len(pending) >= self.options.batch_frames:
                submitted = (pending, submit(self._classify, pending))
                if in_flight is not None:
                    yield from self._finish(*in_flight)
                in_flight, pending = submitted, []
                if not overlap:
                    yield from self._finish(*in_flight)
                    in_flight = None
        if in_flight is not None:
            yield from self._finish(*in_flight)
        if pending:
            yield from self._finish(pending, submit(self._classify, pending))

    def _classify(self, pending: list[_Pending]) -> tuple[np.ndarray, float, float]:
        """(probabilities of the faces that need the model, preprocess ms, infer ms)."""
        crops = [
            crop
            for item in pending
            for crop, needed in zip(item.crops, item.classify, strict=True)
            if needed
        ]
        started = time.perf_counter()
        inputs = self.model.prepare(crops)
        preprocess_ms = _ms_since(started)
        started = time.perf_counter()
        probs = self.model.run(inputs).probs
        if crops:
            self.inference_calls += 1
        return probs, preprocess_ms, _ms_since(started)

    def _finish(self, pending: list[_Pending], classified) -> Iterator[FrameResult]:
        """Results of one batch, in order, once its classification is done. Batches finish in
        the order they were submitted, so a face reusing its track's probabilities always gets
        those of an earlier frame."""
        probs, preprocess_ms, infer_ms = classified.result()
        rows = iter(probs)
        for item in pending:
            # Batch-level costs are shared evenly by the frames of the batch.
            item.timings.add("preprocess", preprocess_ms / len(pending))
            item.timings.add("infer", infer_ms / len(pending))
            started = time.perf_counter()
            faces = self._results(item, rows)
            item.timings.add("track", _ms_since(started))
            yield FrameResult(item.frame, faces, item.timings)

    def _needs_model(self, track: Track, crop: np.ndarray, frame: Frame) -> bool:
        """Classify this face, or let it keep its track's probabilities (crop hardly changed)."""
        import cv2

        self.faces_seen += 1
        if self.options.reuse_change <= 0:
            self.faces_classified += 1
            return True
        gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
        thumb = cv2.resize(gray, (REUSE_THUMB, REUSE_THUMB), interpolation=cv2.INTER_AREA)
        thumb = thumb.astype(np.float32) / 255.0
        reuse = (
            track.classified_thumb is not None
            and frame.timestamp_s - track.classified_s < self.options.reuse_max_s
            and float(np.abs(thumb - track.classified_thumb).mean()) < self.options.reuse_change
        )
        if reuse:
            return False
        track.classified_thumb, track.classified_s = thumb, frame.timestamp_s
        self.faces_classified += 1
        return True

    def _results(self, item: _Pending, rows) -> list[FaceResult]:
        """Faces of one frame in order: classified ones take the next model row, the others
        their track's latest probabilities (set by an earlier frame, in this batch or before)."""
        faces = []
        for index, track in enumerate(item.tracks):
            if item.classify[index]:
                track.probs = np.asarray(next(rows), np.float32).copy()
            probs = track.probs
            smoothed = smooth(track, probs, self.options.smooth_alpha).copy()
            faces.append(
                FaceResult(
                    track.track_id,
                    item.boxes.xyxy[index],
                    float(item.boxes.scores[index]),
                    probs.copy(),
                    smoothed,
                )
            )
        return faces
