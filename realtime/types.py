"""Values that flow between the pipeline's stages (validated once, where they are made)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STAGES = ("capture", "detect", "preprocess", "infer", "track", "draw", "write")


@dataclass(frozen=True)
class Frame:
    """image: BGR uint8 H×W×3; index: position in the source; timestamp_s: from the container
    (or the wall clock for live sources)."""

    image: np.ndarray
    index: int
    timestamp_s: float

    def __post_init__(self) -> None:
        if self.image.dtype != np.uint8 or self.image.ndim != 3 or self.image.shape[2] != 3:
            raise ValueError(
                f"frame image must be BGR uint8 H×W×3, got {self.image.shape} {self.image.dtype}"
            )

    @property
    def height(self) -> int:
        return self.image.shape[0]

    @property
    def width(self) -> int:
        return self.image.shape[1]


@dataclass(frozen=True)
class FaceBoxes:
    """xyxy: float32 N×4 pixel boxes (x1, y1, x2, y2), clipped to the frame; scores: float32 N."""

    xyxy: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        if self.xyxy.shape != (len(self.scores), 4):
            raise ValueError(f"boxes {self.xyxy.shape} do not fit {len(self.scores)} scores")

    @classmethod
    def empty(cls) -> FaceBoxes:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def areas(self) -> np.ndarray:
        return (self.xyxy[:, 2] - self.xyxy[:, 0]) * (self.xyxy[:, 3] - self.xyxy[:, 1])


@dataclass
class Timings:
    """Per-stage milliseconds for one frame (stages in STAGES)."""

    ms: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, milliseconds: float) -> None:
        self.ms[stage] = self.ms.get(stage, 0.0) + milliseconds

    def copy(self) -> Timings:
        return Timings(dict(self.ms))


@dataclass(frozen=True)
class FaceResult:
    """What the pipeline knows about one face in one frame."""

    face_id: int
    box: np.ndarray  # x1, y1, x2, y2
    detection_score: float
    probs: np.ndarray  # 7, after the mode's combination
    smoothed: np.ndarray  # 7, after temporal smoothing (equal to probs when smoothing is off)


@dataclass(frozen=True)
class FrameResult:
    frame: Frame
    faces: list[FaceResult]
    timings: Timings
