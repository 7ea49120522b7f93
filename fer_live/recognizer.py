"""`Recognizer`: the runtime's detector and model behind three calls (detect, classify, analyze).

It reuses the commands' parts unchanged: the detectors of realtime/detectors.py, the crops of
realtime/geometry.py and FerModel (engines/model.py) with its backend choice, so a face gets the
same label here as in fer-live, fer-video and fer-eval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engines.errors import InputFileError
from engines.labels import EMOTIONS
from engines.model import FerModel


@dataclass(frozen=True)
class Face:
    """A detected face: box (x1, y1, x2, y2) in pixels of the image, detector score 0..1."""

    box: tuple[float, float, float, float]
    score: float


@dataclass(frozen=True)
class Emotion:
    """The model's answer for one face: the label and every emotion's probability."""

    label: str
    probabilities: dict[str, float]

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]


@dataclass(frozen=True)
class FaceEmotion:
    face: Face
    emotion: Emotion

    @property
    def box(self) -> tuple[float, float, float, float]:
        return self.face.box

    @property
    def label(self) -> str:
        return self.emotion.label

    @property
    def probabilities(self) -> dict[str, float]:
        return self.emotion.probabilities


ImageLike = np.ndarray | str | Path


class Recognizer:
    """Faces and emotions in images. The model loads at construction, the detector on first use
    (classify alone never loads MediaPipe). Use as a context manager, or call close()."""

    def __init__(
        self,
        model: str = "five_layer",
        *,
        mode: str = "auto",
        backend: str = "auto",
        precision: str = "auto",
        flip: str = "auto",
        detector: str = "mediapipe",
        min_score: float = 0.5,
        margin: float = 0.2,
    ) -> None:
        if not 0 <= min_score <= 1 or not 0 <= margin <= 1:
            from engines.errors import UsageError

            raise UsageError(f"min_score {min_score} and margin {margin} must be in 0..1")
        self.model = FerModel.open(model, mode, backend, precision, flip)
        self._detector_name, self._min_score, self.margin = detector, min_score, margin
        self._detector = None

    def detect(self, image: ImageLike) -> list[Face]:
        """Faces in a BGR (or gray) uint8 image, or in an image file."""
        boxes = self._detect_boxes(_read(image))
        return [
            Face(tuple(float(v) for v in box), float(score))
            for box, score in zip(boxes.xyxy, boxes.scores, strict=True)
        ]

    def classify(self, faces: Sequence[np.ndarray] | np.ndarray) -> list[Emotion]:
        """Emotions of face crops: gray or BGR uint8 images of any size (an N×H×W array of gray
        faces, e.g. FER2013's 48×48, works too), one model call for the batch."""
        if isinstance(faces, np.ndarray) and faces.ndim == 2:
            faces = faces[None]
        if len(faces) == 0:
            return []
        for crop in faces:
            if not _is_image(crop):
                raise InputFileError("faces must be uint8 images (H×W gray or H×W×3 BGR)")
        probs = self.model.predict_crops(faces).probs
        return [_emotion(row) for row in probs]

    def analyze(self, image: ImageLike) -> list[FaceEmotion]:
        """detect, then classify every face of the image in one model call."""
        from realtime.geometry import crop_faces

        pixels = _read(image)
        boxes = self._detect_boxes(pixels)
        if not len(boxes.xyxy):
            return []
        emotions = self.classify(crop_faces(pixels, boxes.xyxy, self.margin))
        faces = [
            Face(tuple(float(v) for v in box), float(score))
            for box, score in zip(boxes.xyxy, boxes.scores, strict=True)
        ]
        return [FaceEmotion(face, emotion) for face, emotion in zip(faces, emotions, strict=True)]

    def _detect_boxes(self, image: np.ndarray):
        if self._detector is None:
            from realtime.detectors import make_detector

            self._detector = make_detector(self._detector_name, self._min_score)
        if image.ndim == 2:
            import cv2

            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        return self._detector.detect(image)

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()
            self._detector = None
        self.model.close()

    def __enter__(self) -> Recognizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _emotion(row: np.ndarray) -> Emotion:
    probabilities = {label: float(p) for label, p in zip(EMOTIONS, row, strict=True)}
    return Emotion(EMOTIONS[int(np.argmax(row))], probabilities)


def _read(image: ImageLike) -> np.ndarray:
    if isinstance(image, (str, Path)):
        from realtime.sources import ImageSource

        return ImageSource(Path(image)).image
    if not _is_image(image):
        raise InputFileError("an image is a uint8 array (H×W gray or H×W×3 BGR) or a file path")
    return image


def _is_image(value: object) -> bool:
    return isinstance(value, np.ndarray) and value.dtype == np.uint8 and value.ndim in (2, 3)
