"""Per-face identity across frames (IoU tracking) and temporal smoothing of probabilities."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fer_live.realtime.geometry import iou_matrix


@dataclass
class Track:
    track_id: int
    box: np.ndarray
    last_seen_s: float
    smoothed: np.ndarray | None = None
    hits: int = 0
    first_seen_s: float = 0.0
    # The pipeline's reuse of probabilities: the last model output for this face, and the
    # thumbnail and time of the crop it came from.
    probs: np.ndarray | None = None
    classified_thumb: np.ndarray | None = None
    classified_s: float = -np.inf


@dataclass
class IouTracker:
    """Greedy IoU matching of this frame's boxes to live tracks.

    A track survives `max_age_s` seconds without a match, so a short occlusion (under about a
    second) keeps the id. Timestamps, not frame counts, so `--stride` does not change behaviour.
    """

    iou_threshold: float = 0.2
    max_age_s: float = 1.0
    tracks: list[Track] = field(default_factory=list)
    next_id: int = 1

    def update(self, boxes: np.ndarray, timestamp_s: float) -> list[int]:
        """Assign an id to each of the N boxes (N×4 xyxy) seen at `timestamp_s`."""
        self.tracks = [t for t in self.tracks if timestamp_s - t.last_seen_s <= self.max_age_s]
        ids = [0] * len(boxes)
        if len(boxes) and self.tracks:
            overlap = iou_matrix(boxes, np.stack([t.box for t in self.tracks]))
            # Greedy on the best remaining pair: simple, and optimal enough for the few faces here.
            for flat in np.argsort(-overlap, axis=None):
                row, col = divmod(int(flat), overlap.shape[1])
                if overlap[row, col] < self.iou_threshold:
                    break
                if ids[row] or self.tracks[col].last_seen_s == timestamp_s:
                    continue
                track = self.tracks[col]
                track.box, track.last_seen_s = np.asarray(boxes[row], np.float32), timestamp_s
                track.hits += 1
                ids[row] = track.track_id
        for row, assigned in enumerate(ids):
            if not assigned:
                track = Track(
                    self.next_id,
                    np.asarray(boxes[row], np.float32),
                    timestamp_s,
                    hits=1,
                    first_seen_s=timestamp_s,
                )
                self.tracks.append(track)
                ids[row] = track.track_id
                self.next_id += 1
        return ids

    def track(self, track_id: int) -> Track:
        return next(t for t in self.tracks if t.track_id == track_id)


def smooth(track: Track, probs: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential moving average per track: alpha weights the newest frame (1.0 = off)."""
    probs = np.asarray(probs, np.float32)
    if track.smoothed is None or alpha >= 1.0:
        track.smoothed = probs.copy()
    else:
        track.smoothed = alpha * probs + (1 - alpha) * track.smoothed
    return track.smoothed
