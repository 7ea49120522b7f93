"""`Recognizer`: fer-live's runtime behind a few calls (detect, classify, process_video,
analyze_video).

It reuses the commands' parts unchanged: the worker of fer-video (realtime/worker.py: one loaded
FerModel and face detector), the crops of realtime/geometry.py, the frame pipeline of
realtime/pipeline.py (key frames, tracking, batching) and fer-video's per-file job, so a face gets
the same label here as in fer-live, fer-video and fer-eval.

A Recognizer is not thread-safe (the detector and the tracker keep state): build one per thread.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fer_live.engines.errors import FerError, InputFileError, UsageError
from fer_live.engines.labels import EMOTIONS
from fer_live.engines.store import DEFAULT_MODEL, RUNTIME_FLIP
from fer_live.realtime.still import face_fields, faces_in_image
from fer_live.realtime.worker import ModelChoice, ModelWorker

COLORS = ("bgr", "rgb")


@dataclass(frozen=True)
class Face:
    """One face: box (x, y, w, h) in pixels of the image, the detector's score (0..1), the
    emotion with its probability, every emotion's probability (EMOTIONS order), and in videos the
    face's track id (stable while the face stays in view; None for single images)."""

    box: tuple[int, int, int, int]
    score: float
    label: str
    confidence: float
    probabilities: dict[str, float]
    face_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "box": list(self.box)}


@dataclass(frozen=True)
class VideoFrame:
    """The faces of one processed video frame."""

    frame_index: int
    timestamp: float  # seconds, from the container (the wall clock for cameras and streams)
    faces: list[Face]

    def to_dict(self) -> dict[str, Any]:
        return {
            "frame_index": self.frame_index,
            "timestamp": self.timestamp,
            "faces": [face.to_dict() for face in self.faces],
        }


ImageLike = Any  # np.ndarray | str | Path | PIL.Image.Image


class Recognizer:
    """Faces and emotions in images and videos. The model and the face detector load once, at
    construction; reuse the object. Use it as a context manager, or call close()."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        mode: str = "auto",
        detector: str = "mediapipe",
        backend: str = "auto",
        precision: str = "auto",
        flip: str = RUNTIME_FLIP,
        *,
        min_score: float = 0.5,
        margin: float = 0.2,
    ) -> None:
        if not 0 <= min_score <= 1 or not 0 <= margin <= 1:
            raise UsageError(f"min_score {min_score} and margin {margin} must be in 0..1")
        self.choice = ModelChoice(model, mode, backend, precision, detector, min_score, flip)
        self.margin = margin
        self._worker = ModelWorker(self.choice)
        self._videos: weakref.WeakSet = weakref.WeakSet()  # open process_video generators

    @property
    def model_info(self) -> dict[str, str]:
        """What runs: model, mode, backend, precision, flip, detector (fer-video's summary keys)."""
        return dict(self._worker.info)

    def detect(self, image: ImageLike, color: str = "bgr") -> list[Face]:
        """Every face of one image with its emotion. image: a uint8 array (H×W×3 in `color`
        order, OpenCV's BGR by default, or H×W gray), an image file path, or a PIL image."""
        boxes, probs = faces_in_image(
            self._worker.model, self._worker.detector, _to_bgr(image, color), self.margin
        )
        return [
            _face(box, score, row, None)
            for box, score, row in zip(boxes.xyxy, boxes.scores, probs, strict=True)
        ]

    def classify(self, faces: Sequence[np.ndarray] | np.ndarray, color: str = "bgr") -> np.ndarray:
        """Probabilities (N×7 float32, columns in fer_live.EMOTIONS order) of face crops: uint8
        images of any size, gray (H×W) or colour (H×W×3 in `color` order), as a list or an N×H×W
        (N×H×W×3) array; the whole batch goes to the model in one call."""
        _check_color(color)
        if isinstance(faces, np.ndarray) and faces.ndim == 2:
            faces = faces[None]
        if len(faces) == 0:
            return np.zeros((0, len(EMOTIONS)), np.float32)
        crops = []
        for crop in faces:
            if not _is_image(crop):
                raise InputFileError("faces must be uint8 images (H×W gray or H×W×3 colour)")
            crops.append(
                np.ascontiguousarray(crop[..., ::-1]) if color == "rgb" and crop.ndim == 3 else crop
            )
        return self._worker.model.predict_crops(crops).probs.astype(np.float32)

    def process_video(self, source: str | Path | int, stride: int = 1) -> Iterator[VideoFrame]:
        """Per-frame results of a video file, camera index or stream URL, as fer-video computes
        them (key-frame detection, tracking ids, batched inference); a generator. Its source
        (and decoding thread) closes when the generator ends, is closed, or at close()."""
        if stride < 1:
            raise UsageError(f"stride must be at least 1, not {stride}")
        frames = self._video_frames(source, stride)
        self._videos.add(frames)
        return frames

    def _video_frames(self, source: str | Path | int, stride: int) -> Iterator[VideoFrame]:
        from fer_live.realtime.pipeline import Pipeline, PipelineOptions
        from fer_live.realtime.sources import open_source

        pipeline = Pipeline(
            self._worker.model,
            self._worker.detector,
            PipelineOptions(margin=self.margin, smooth_alpha=1.0, batch_frames=8),
        )
        with open_source(str(source), stride=stride) as frames:
            for result in pipeline.run(frames):
                yield VideoFrame(
                    result.frame.index,
                    float(result.frame.timestamp_s),
                    [
                        _face(face.box, face.detection_score, face.probs, face.face_id)
                        for face in result.faces
                    ],
                )

    def analyze_video(
        self, path: str | Path, output_dir: str | Path, *, write_video: bool = True
    ) -> dict[str, Any]:
        """What `fer-video PATH --output-dir OUTPUT_DIR` writes (CSV, summary JSON, timeline plot,
        annotated mp4); returns the summary. Raises FerError when the input cannot be processed."""
        from fer_live.realtime.video_job import VideoOptions

        options = VideoOptions(output_dir=Path(output_dir), write_video=write_video)
        outcome = self._worker.run(Path(path), options)
        if outcome.status != "done":
            raise InputFileError(f"{path}: {outcome.reason or outcome.status}")
        return outcome.summary

    def close(self) -> None:
        # A half-read video left open would keep its decoding thread running into interpreter
        # exit, where the native decoder aborts the process.
        for frames in list(self._videos):
            frames.close()
        self._worker.close()

    def __enter__(self) -> Recognizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def to_dataframe(frames: Sequence[VideoFrame]):
    """One row per face and frame (frame_index, timestamp, face_id, x, y, w, h, score, label,
    confidence, one column per emotion) as a pandas DataFrame; needs pandas installed."""
    try:
        import pandas
    except ImportError:
        raise UsageError("to_dataframe needs pandas", hint="pip install pandas") from None
    rows = [
        {
            "frame_index": frame.frame_index,
            "timestamp": frame.timestamp,
            "face_id": face.face_id,
            **dict(zip(("x", "y", "w", "h"), face.box, strict=True)),
            "score": face.score,
            "label": face.label,
            "confidence": face.confidence,
            **face.probabilities,
        }
        for frame in frames
        for face in frame.faces
    ]
    columns = ["frame_index", "timestamp", "face_id", "x", "y", "w", "h", "score", "label"]
    return pandas.DataFrame(rows, columns=[*columns, "confidence", *EMOTIONS])


def _face(xyxy, score, probs, face_id) -> Face:
    fields = face_fields(xyxy, probs)
    return Face(
        fields["box"],
        float(score),
        fields["label"],
        fields["confidence"],
        fields["probabilities"],
        None if face_id is None else int(face_id),
    )


def _check_color(color: str) -> None:
    if color not in COLORS:
        raise UsageError(f"color must be one of {', '.join(COLORS)}, not {color!r}")


def _to_bgr(image: ImageLike, color: str) -> np.ndarray:
    """BGR uint8 H×W×3 from a path, a PIL image or an array in `color` order (or gray)."""
    import cv2

    _check_color(color)
    if isinstance(image, (str, Path)):
        from fer_live.realtime.sources import ImageSource

        return ImageSource(Path(image)).image
    if not isinstance(image, np.ndarray) and hasattr(image, "convert"):  # PIL.Image.Image
        image, color = np.asarray(image.convert("RGB")), "rgb"
    if not _is_image(image) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise InputFileError(
            "an image is a uint8 array (H×W gray or H×W×3), a PIL image or a file path"
        )
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        code = cv2.COLOR_RGBA2BGR if color == "rgb" else cv2.COLOR_BGRA2BGR
        return cv2.cvtColor(image, code)
    return np.ascontiguousarray(image[..., ::-1]) if color == "rgb" else image


def _is_image(value: object) -> bool:
    return isinstance(value, np.ndarray) and value.dtype == np.uint8 and value.ndim in (2, 3)


__all__ = ["EMOTIONS", "Face", "FerError", "Recognizer", "VideoFrame", "to_dataframe"]
