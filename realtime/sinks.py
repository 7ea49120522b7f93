"""Where results go: CSV rows, an annotated mp4, a window.

Files are written under a `.partial` name and renamed when closed, so a file with the final name is
always complete; an interrupted run closes its sinks and so still leaves valid, finalised files.
"""

from __future__ import annotations

import csv
import os
import queue
import threading
from pathlib import Path

import numpy as np

from engines.errors import OutputError
from engines.labels import EMOTIONS
from realtime.types import FaceResult, Frame

CSV_COLUMNS = (
    "frame",
    "timestamp_s",
    "face_id",
    "x",
    "y",
    "w",
    "h",
    "detection_score",
    "label",
    "confidence",
    *EMOTIONS,
)


def partial_path(path: Path) -> Path:
    """Temporary name in the same folder (so the final rename is atomic), same suffix."""
    return path.with_name(f".{path.stem}.partial{path.suffix}")


def _prepare(path: Path) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(
            f"{path.parent}: cannot create output folder ({error.strerror})"
        ) from error
    if not os.access(path.parent, os.W_OK):
        raise OutputError(f"{path.parent}: output folder is not writable")
    return partial_path(path)


class CsvSink:
    """One row per face per processed frame; `smoothed=True` writes the smoothed probabilities."""

    def __init__(self, path: Path, smoothed: bool = False) -> None:
        self.path = Path(path)
        self.smoothed = smoothed
        self.tmp = _prepare(self.path)
        try:
            self._file = self.tmp.open("w", newline="")
        except OSError as error:
            raise OutputError(f"{self.path}: cannot write ({error.strerror})") from error
        self._writer = csv.writer(self._file)
        self._writer.writerow(CSV_COLUMNS)
        self.rows = 0

    def write(self, frame: Frame, faces: list[FaceResult]) -> None:
        for face in faces:
            probs = face.smoothed if self.smoothed else face.probs
            top = int(np.argmax(probs))
            x1, y1, x2, y2 = (float(v) for v in face.box)
            self._writer.writerow(
                [
                    frame.index,
                    f"{frame.timestamp_s:.4f}",
                    face.face_id,
                    round(x1),
                    round(y1),
                    round(x2 - x1),
                    round(y2 - y1),
                    f"{face.detection_score:.4f}",
                    EMOTIONS[top],
                    f"{probs[top]:.4f}",
                    *(f"{p:.4f}" for p in probs),
                ]
            )
            self.rows += 1

    def close(self) -> None:
        if self._file.closed:
            return
        self._file.close()
        os.replace(self.tmp, self.path)


class VideoSink:
    """Annotated mp4, encoded on its own thread so the model never waits for the encoder."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], queue_size: int = 32) -> None:
        import cv2

        self.path = Path(path)
        self.tmp = _prepare(self.path)
        self.size = size  # (width, height)
        self._writer = cv2.VideoWriter(
            str(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps if fps > 0 else 30.0, size
        )
        if not self._writer.isOpened():
            raise OutputError(f"{self.path}: cannot open an mp4 writer")
        self.frames = 0
        self.error: str | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._encode, name="encode", daemon=True)
        self._thread.start()

    def _encode(self) -> None:
        while True:
            image = self._queue.get()
            if image is None:
                return
            try:
                self._writer.write(image)
                self.frames += 1
            except Exception as error:  # keep draining so the producer never blocks forever
                self.error = str(error)

    def write(self, image: np.ndarray) -> None:
        if (image.shape[1], image.shape[0]) != self.size:
            import cv2

            image = cv2.resize(image, self.size)
        self._queue.put(image)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
            self._writer.release()
            if self.error:
                raise OutputError(f"{self.path}: writing failed ({self.error})")
            os.replace(self.tmp, self.path)


class WindowSink:
    """An OpenCV window; `write` returns False when the user pressed q or Esc."""

    def __init__(self, title: str = "fer-live") -> None:
        self.title = title

    def write(self, image: np.ndarray) -> bool:
        import cv2

        cv2.imshow(self.title, image)
        key = cv2.waitKey(1) & 0xFF
        return key not in (ord("q"), 27)

    def close(self) -> None:
        import cv2

        cv2.destroyWindow(self.title)
