"""Where results go: CSV rows, an annotated mp4, a window.

Files are written under a unique `.partial` name (engines/atomic.py) and renamed when closed, so
a file with the final name is always complete; an interrupted run closes its sinks and so still
leaves valid, finalised files. A run that fails (disk full, encoder error) discards them instead:
`finalise_or_discard`.
"""

from __future__ import annotations

import contextlib
import csv
import os
import queue
import threading
from pathlib import Path

import numpy as np

from fer_live.engines.atomic import discard, publish, reserve_temporary
from fer_live.engines.errors import OutputError
from fer_live.engines.labels import EMOTIONS
from fer_live.realtime.types import FaceResult, Frame

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


def _write_failed(path: Path, error: OSError) -> OutputError:
    return OutputError(f"{path}: cannot write ({error.strerror or error})")


def finalise_or_discard(stack: contextlib.ExitStack, sink) -> None:
    """On leaving `stack`: close (finalise) `sink` normally or after an interruption, which
    run_source absorbs; discard its partial file when an error is propagating, so nothing
    half-written ever gets the final name."""

    def on_exit(exc_type, _exc, _tb) -> bool:
        if exc_type is None:
            sink.close()
        else:
            sink.discard()
        return False

    stack.push(on_exit)


def _prepare(path: Path) -> Path:
    """The sink's own unique temporary file beside `path` (engines/atomic.py)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(
            f"{path.parent}: cannot create output folder ({error.strerror})"
        ) from error
    if not os.access(path.parent, os.W_OK):
        raise OutputError(f"{path.parent}: output folder is not writable")
    try:
        return reserve_temporary(path)
    except OSError as error:
        raise _write_failed(path, error) from error


class CsvSink:
    """One row per face per processed frame; `smoothed=True` writes the smoothed probabilities."""

    def __init__(self, path: Path, smoothed: bool = False) -> None:
        self.path = Path(path)
        self.smoothed = smoothed
        self.tmp = _prepare(self.path)
        try:
            self._file = self.tmp.open("w", newline="")
        except OSError as error:
            discard(self.tmp)
            raise OutputError(f"{self.path}: cannot write ({error.strerror})") from error
        self._writer = csv.writer(self._file)
        self._writer.writerow(CSV_COLUMNS)
        self.rows = 0

    def write(self, frame: Frame, faces: list[FaceResult]) -> None:
        try:
            self._write_rows(frame, faces)
        except OSError as error:  # e.g. ENOSPC: disk full
            raise _write_failed(self.path, error) from error

    def _write_rows(self, frame: Frame, faces: list[FaceResult]) -> None:
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
        try:
            self._file.close()
            publish(self.tmp, self.path)
        except OSError as error:
            discard(self.tmp)
            raise _write_failed(self.path, error) from error

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        discard(self.tmp)


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
            discard(self.tmp)
            raise OutputError(f"{self.path}: cannot open an mp4 writer (frame size {size})")
        self.frames = 0
        self.error: str | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._encode, name="encode", daemon=True)
        self._thread.start()

    def _encode(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                image, render = item
                if render is not None:
                    image = render(image)
                self._writer.write(self._sized(image))
                self.frames += 1
            except Exception as error:  # keep draining so the producer never blocks forever
                self.error = str(error)

    def _sized(self, image: np.ndarray) -> np.ndarray:
        if (image.shape[1], image.shape[0]) != self.size:
            import cv2

            image = cv2.resize(image, self.size)
        return image

    def write(self, image: np.ndarray) -> None:
        self._queue.put((image, None))

    def write_rendered(self, image: np.ndarray, render) -> None:
        """Queue `image` to be drawn on by `render(image) -> image` on the encoding thread, so
        the overlay's cost leaves the thread that runs the model. `image` must not change after
        this call (render draws on a copy)."""
        self._queue.put((image, render))

    def _finish_encoding(self) -> bool:
        if not self._thread.is_alive():
            return False
        self._queue.put(None)
        self._thread.join()
        self._writer.release()
        return True

    def close(self) -> None:
        if not self._finish_encoding():
            return
        # OpenCV's writer does not report write errors (a full disk gives a silently cut file
        # without its index), so check that the result opens before giving it the final name.
        if self.frames == 0 and self.error is None:
            # No frame to encode (nothing decodable): an mp4 without frames does not open, so
            # none is written at all.
            discard(self.tmp)
            return
        if self.error is None and not _opens_as_video(self.tmp):
            self.error = "the encoded file does not open (disk full?)"
        if self.error:
            discard(self.tmp)
            raise OutputError(f"{self.path}: writing failed ({self.error})")
        publish(self.tmp, self.path)

    def discard(self) -> None:
        self._finish_encoding()
        discard(self.tmp)


class ImageSink:
    """The annotated frame of a photo, written in the format its suffix names when closed."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.tmp = _prepare(self.path)
        self.image: np.ndarray | None = None

    def write(self, image: np.ndarray) -> None:
        self.image = image

    def close(self) -> None:
        import cv2

        if self.image is None:
            discard(self.tmp)
            return
        if not cv2.imwrite(str(self.tmp), self.image):
            discard(self.tmp)
            raise OutputError(f"{self.path}: cannot write the annotated image")
        publish(self.tmp, self.path)

    def discard(self) -> None:
        discard(self.tmp)


def _opens_as_video(path: Path) -> bool:
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        return capture.isOpened() and capture.get(cv2.CAP_PROP_FRAME_COUNT) > 0
    finally:
        capture.release()


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
