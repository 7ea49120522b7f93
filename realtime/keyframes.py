"""Detect less, track more: the face detector runs on key frames, boxes are carried between them.

Between key frames each box is moved by the median optical flow (pyramidal Lucas-Kanade) of a
grid of points inside it, on a downscaled gray frame: about 0.3 ms per frame against the
detector's 4 ms (2-core AMD EPYC, AVX2). The detector runs again at once when
- the interval is up (adaptive: it doubles, up to `max_interval`, while consecutive key frames
  find the same faces in the places the flow predicted, and falls back to 1 when they do not);
- the frame changed a lot (a scene cut: mean absolute difference of small gray thumbnails);
- a box's points were lost (occlusion, a face leaving).
On a key frame, a face the detector misses is kept for a moment (hold_s) while the flow still
follows it. `interval=1` is per-frame detection, the behaviour before key frames existed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer_live.realtime.geometry import clip_boxes, iou_matrix
from fer_live.realtime.types import FaceBoxes

FLOW_WIDTH = 320  # frames are downscaled to about this width for the flow (faces stay > 20 px)
HELD_OVERLAP = 0.3  # a carried box overlapping a detected one less than this is another face
THUMB = 32  # about this many pixels on the scene-change thumbnail's longer side


@dataclass(frozen=True)
class KeyFrameOptions:
    """interval: 0 = adaptive (up to max_interval frames, and at most max_gap_s seconds);
    N >= 1 = a key frame every N frames (1 = detect on every frame)."""

    interval: int = 0
    max_interval: int = 8
    max_gap_s: float = 0.3
    scene_change: float = 0.10  # mean |Δ| of gray thumbnails, 0..1, that forces a key frame
    # Predicted vs detected box overlap that counts as "tracked well". 0.92, not looser: on the
    # stage clip a carried box that overlaps the detector's by 0.75-0.9 shifts the crop enough to
    # change the label of borderline faces. Same label as per-frame processing / detector share
    # (python -m fer_live.benchmarks.agreement, compact_resnet): 0.75: 93.9% / 24%, 0.88: 95.5% /
    # 47%, 0.9: 95.8% / 52%, 0.92: 97.4% / 61%; the talking head stays at 99% / 14% throughout.
    stable_iou: float = 0.92
    # A face the detector misses on a key frame while the flow still follows it is carried on
    # for up to this long, as trackers keep a track through short detection drop-outs. The
    # detector finds some stage faces on only some frames; dropped at the first miss, one went
    # unpaired for 0.87 s where per-frame detection saw it now and then (0.10 s with 0.15 s of
    # hold, 0.87 s with 0.07 s; faces per frame 1.065 against per-frame detection's 1.007).
    # Not with interval 1, which stays per-frame detection exactly.
    hold_s: float = 0.15


class KeyFrameDetector:
    """Wraps a detector (`detect(image) -> FaceBoxes`); `detect(image, timestamp_s)` returns the
    boxes of every frame, detected or carried. `key_frames` / `frames` give the detector's share."""

    def __init__(self, detector, options: KeyFrameOptions | None = None) -> None:
        self.detector = detector
        self.options = options or KeyFrameOptions()
        self.frames = 0
        self.key_frames = 0
        self._interval = 1
        self._since_key = 0
        self._last_key_s = -np.inf
        self._boxes = FaceBoxes.empty()
        self._seen_s = np.zeros(0)  # when the detector last saw each of self._boxes
        self._gray: np.ndarray | None = None
        self._thumb: np.ndarray | None = None
        self._scale = 1.0

    def detect(self, image: np.ndarray, timestamp_s: float = 0.0) -> tuple[FaceBoxes, bool]:
        """(boxes, is_key_frame) for this frame."""
        import cv2

        self.frames += 1
        small, thumb = self._downscale(image, cv2)
        carried, followed, seen_s, lost = self._carry(small, cv2)
        due = self._is_due(timestamp_s, thumb, lost)
        self._gray, self._thumb = small, thumb
        if not due:
            self._since_key += 1
            self._boxes, self._seen_s = carried, seen_s
            return carried, False
        detected = self.detector.detect(image)
        self._adapt(carried, detected)
        self.key_frames += 1
        self._since_key = 0
        self._last_key_s = timestamp_s
        held = self._held(carried, followed, seen_s, detected, timestamp_s)
        boxes = FaceBoxes(
            np.concatenate([detected.xyxy, carried.xyxy[held]]),
            np.concatenate([detected.scores, carried.scores[held]]),
        )
        self._boxes = boxes
        self._seen_s = np.concatenate([np.full(len(detected), timestamp_s), seen_s[held]])
        return boxes, True

    def _held(self, carried, followed, seen_s, detected, timestamp_s: float) -> np.ndarray:
        """Which carried boxes stay although the detector did not find them: followed by the
        flow, overlapping no detected box, and seen by the detector within hold_s."""
        if self.options.interval == 1 or not len(carried):
            return np.zeros(len(carried), bool)
        unmatched = np.ones(len(carried), bool)
        if len(detected):
            unmatched = iou_matrix(carried.xyxy, detected.xyxy).max(axis=1) < HELD_OVERLAP
        return followed & unmatched & (timestamp_s - seen_s <= self.options.hold_s)

    def _downscale(self, image: np.ndarray, cv2) -> tuple[np.ndarray, np.ndarray]:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        # An integer factor: OpenCV's INTER_AREA has a fast path for it (0.02 ms for 480->240
        # against 0.74 ms for 480->320, measured on a 2-core AVX2 EPYC).
        factor = max(1, round(gray.shape[1] / FLOW_WIDTH))
        self._scale = 1.0 / factor
        if factor > 1:
            size = (gray.shape[1] // factor, max(1, gray.shape[0] // factor))
            gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        # About THUMB pixels across, again by a whole factor (0.016 ms against 0.092 ms for
        # 240->32), keeping the frame's aspect.
        step = max(1, round(max(gray.shape) / THUMB))
        size = (max(1, gray.shape[1] // step), max(1, gray.shape[0] // step))
        thumb = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        return gray, thumb.astype(np.float32) / 255.0

    def _is_due(self, timestamp_s: float, thumb: np.ndarray, lost: bool) -> bool:
        options = self.options
        if self._thumb is None or lost:
            return True
        if options.interval >= 1:
            return self._since_key + 1 >= options.interval
        if self._since_key + 1 >= self._interval:
            return True
        if timestamp_s - self._last_key_s >= options.max_gap_s:
            return True
        return float(np.abs(thumb - self._thumb).mean()) > options.scene_change

    def _carry(self, small: np.ndarray, cv2):
        """Move the last boxes by the median flow of points inside each. Returns (boxes,
        followed: per box whether its points followed, when the detector last saw each box,
        lost: a box was not followed or dropped off the frame, or there was nothing to follow
        from)."""
        if self._gray is None or self._gray.shape != small.shape:
            return self._boxes, np.zeros(len(self._boxes), bool), self._seen_s, True
        if not len(self._boxes):
            return self._boxes, np.zeros(0, bool), self._seen_s, False
        scaled = self._boxes.xyxy * self._scale
        points = _grids(scaled)
        moved, status, _ = cv2.calcOpticalFlowPyrLK(
            self._gray, small, points.reshape(-1, 1, 2), None, winSize=(15, 15), maxLevel=2
        )
        moved, status = moved.reshape(-1, 2), status.reshape(-1).astype(bool)
        per_box = len(points) // len(scaled)
        shifted, followed = [], np.ones(len(scaled), bool)
        for index, box in enumerate(scaled):
            rows = slice(index * per_box, (index + 1) * per_box)
            ok = status[rows]
            if ok.sum() < per_box // 2:
                followed[index] = False
                shifted.append(box)
                continue
            delta = np.median(moved[rows][ok] - points[rows][ok], axis=0)
            shifted.append(box + np.array([delta[0], delta[1], delta[0], delta[1]], np.float32))
        height, width = small.shape[:2]
        xyxy = clip_boxes(np.array(shifted, np.float32), width, height) / self._scale
        # A box carried off the frame is gone: drop it and let the detector look again.
        kept = (xyxy[:, 2] - xyxy[:, 0] >= 2) & (xyxy[:, 3] - xyxy[:, 1] >= 2)
        lost = not (kept.all() and followed.all())
        boxes = FaceBoxes(xyxy[kept].astype(np.float32), self._boxes.scores[kept])
        return boxes, followed[kept], self._seen_s[kept], lost

    def _adapt(self, predicted: FaceBoxes, detected: FaceBoxes) -> None:
        """Lengthen the interval while carried boxes match the detector's, else start over."""
        if self.options.interval >= 1:
            return
        well_tracked = len(predicted) == len(detected) and (
            not len(detected)
            or iou_matrix(detected.xyxy, predicted.xyxy).max(axis=1).min()
            >= self.options.stable_iou
        )
        if well_tracked:
            self._interval = min(self._interval * 2, self.options.max_interval)
        else:
            self._interval = 1

    @property
    def detector_share(self) -> float:
        return self.key_frames / self.frames if self.frames else 0.0

    def close(self) -> None:
        self.detector.close()


# 5×5 positions inside the central 60% of a unit box (the face, not the background), row by row.
_UNIT_GRID = np.stack(np.meshgrid(np.linspace(0.2, 0.8, 5), np.linspace(0.2, 0.8, 5)), -1)
_UNIT_GRID = _UNIT_GRID.reshape(-1, 2).astype(np.float32)


def _grids(boxes: np.ndarray) -> np.ndarray:
    """The grid of every box (B×4 xyxy), box after box: (B·25)×2 float32. One array expression,
    since a per-box linspace/meshgrid cost 0.13 ms a frame in numpy's own overhead."""
    origin = boxes[:, None, :2]
    size = boxes[:, None, 2:] - boxes[:, None, :2]
    return (origin + _UNIT_GRID[None] * size).reshape(-1, 2).astype(np.float32)
