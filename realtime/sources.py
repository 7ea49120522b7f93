"""Frame sources: camera index, stream URL, video file or image, each an iterator of `Frame`.

Live sources (cameras, URLs) are read on a thread that keeps only the newest frame, so a slow
consumer never sees OpenCV's stale buffer. File sources deliver every frame, decoded on a thread
into a small bounded queue (memory stays flat), with timestamps from the container.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from fer_live.engines.errors import SourceError
from fer_live.engines.threads import decoder_threads
from fer_live.realtime.quiet import native_stderr_muted
from fer_live.realtime.types import Frame

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"}
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
SOURCE_HINT = "--camera takes a device index (0), a video/image path or a stream URL (rtsp://...)"
OPEN_TIMEOUT_MS = 10_000
READ_TIMEOUT_MARGIN_S = 2.0
_ABANDONED: list = []  # captures whose reader never returned: never released, never collected
MAX_SIDE = 16384  # larger frames are refused rather than risking memory blow-ups


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Any decoded image (gray, BGR, BGRA, 16-bit) -> BGR uint8 H×W×3."""
    import cv2

    if image is None or image.size == 0 or image.ndim not in (2, 3):
        raise SourceError(f"cannot use an image of shape {getattr(image, 'shape', None)}")
    if max(image.shape[:2]) > MAX_SIDE:
        raise SourceError(f"image of {image.shape[1]}×{image.shape[0]} is larger than {MAX_SIDE}")
    if image.dtype != np.uint8:
        scale = (
            255.0 / max(float(np.iinfo(image.dtype).max), 1.0) if image.dtype.kind in "ui" else 255
        )
        image = np.clip(image.astype(np.float32) * scale, 0, 255).astype(np.uint8)
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.shape[2] != 3:
        raise SourceError(f"cannot use an image with {image.shape[2]} channels")
    return np.ascontiguousarray(image)


class Source:
    """Base: iterate for frames; `close()` releases the device/file."""

    is_live = False
    fps: float = 0.0
    frame_count: int = 0  # 0 when unknown (live)
    name: str = ""

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ImageSource(Source):
    """A still image as a one-frame source."""

    def __init__(self, path: Path) -> None:
        import cv2

        self.name = str(path)
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise SourceError(f"{path}: not a readable image", hint=SOURCE_HINT)
        self.image = to_bgr(image)
        self.frame_count = 1
        self.fps = 1.0

    def __iter__(self) -> Iterator[Frame]:
        yield Frame(self.image, 0, 0.0)


class VideoFileSource(Source):
    """Every frame of a video file, decoded on a thread; timestamps from the container."""

    def __init__(self, path: Path, stride: int = 1, queue_size: int = 16) -> None:
        import cv2

        self.name = str(path)
        self.stride = max(1, stride)
        self.capture = _open_file_capture(path, cv2)
        if not self.capture.isOpened():
            self.capture.release()
            raise SourceError(f"{path}: cannot open as a video (unsupported or corrupt file)")
        self.fps = float(self.capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.frame_count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frames_decoded = 0
        self.decode_error: str | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._decode, name="decode", daemon=True)
        self._thread.start()

    def _decode(self) -> None:
        import cv2

        index = 0
        try:
            while not self._stop.is_set():
                if not self.capture.grab():
                    break
                if index % self.stride:  # skipped by --stride: decoded, never converted
                    index += 1
                    self.frames_decoded = index
                    continue
                ok, image = self.capture.retrieve()
                if not ok:
                    break
                position_ms = self.capture.get(cv2.CAP_PROP_POS_MSEC)
                timestamp = (
                    position_ms / 1000.0
                    if position_ms > 0 or index == 0 or self.fps <= 0
                    else index / self.fps
                )
                self.frames_decoded = index + 1
                self._put(Frame(to_bgr(image), index, float(timestamp)))
                index += 1
            if not self._stop.is_set() and _cut_short(index, self.frame_count):
                self.decode_error = (
                    f"stream ended after {index} of {self.frame_count} frames (truncated file?)"
                )
        except Exception as error:  # a decoder failure ends the source; the consumer reports it
            self.decode_error = str(error)
        finally:
            self._put(None)

    def _put(self, item: Frame | None) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[Frame]:
        while True:
            item = self._queue.get()
            if item is None:
                return
            yield item

    def close(self) -> None:
        self._stop.set()
        _release_when_reader_ends(self._thread, self.capture, 5.0, self.name)


def _open_file_capture(path: Path, cv2):
    """A capture with as many FFmpeg decoding threads as engines.threads says (one inside the
    pipeline, whose own threads use the other core); the backend's defaults where the setting
    is refused."""
    threads = decoder_threads()
    if threads:
        capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, threads])
        if capture.isOpened():
            return capture
        capture.release()
    return cv2.VideoCapture(str(path))


def _release_when_reader_ends(thread, capture, timeout_s: float, name: str) -> None:
    """Release `capture` only once the thread reading it has ended: releasing under a read that
    is still inside the backend crashed the process. A reader that never returns leaves the
    capture to process exit."""
    thread.join(timeout=timeout_s)
    if thread.is_alive():
        log.warning("%s: capture did not stop; leaving it to process exit", name)
        _ABANDONED.append(capture)
        return
    capture.release()


def _cut_short(decoded: int, declared: int) -> bool:
    """Fewer frames than the container declares: a truncated file. Some containers (mkv, webm)
    only estimate their count from duration × fps, hence the small tolerance."""
    return declared > 0 and decoded < declared - max(2, round(0.02 * declared))


class LatestSlot:
    """Holds only the newest item a producer thread put: a consumer that is slower than the
    producer skips stale items instead of falling behind (live cameras, streams, fer-serve's
    WebSocket frames). `dropped` counts the items replaced before anyone took them."""

    def __init__(self) -> None:
        self._item = None
        self._has_item = False
        self._ended = False
        self._cond = threading.Condition()
        self.dropped = 0

    def put(self, item) -> None:
        with self._cond:
            self.dropped += self._has_item
            self._item, self._has_item = item, True
            self._cond.notify_all()

    def end(self) -> None:
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """end() was called (items still waiting may be taken)."""
        return self._ended

    def take(self, timeout_s: float | None):
        """(True, item) for the newest item; (False, None) once ended and empty, or on timeout
        (`timed_out` tells which)."""
        with self._cond:
            self.timed_out = not self._cond.wait_for(
                lambda: self._has_item or self._ended, timeout=timeout_s
            )
            if not self._has_item:
                return False, None
            item, self._item, self._has_item = self._item, None, False
            return True, item


class LiveSource(Source):
    """Camera or network stream: a reader thread keeps only the newest frame."""

    is_live = True
    stalled = False  # set when the source stopped because no frame came for stall_timeout_s

    def __init__(self, target: int | str, stall_timeout_s: float = 10.0) -> None:
        import cv2

        self.name = str(target)
        self.stall_timeout_s = stall_timeout_s
        with native_stderr_muted():  # OpenCV's backends each log their own failure to fd 2
            if isinstance(target, str):
                # FFmpeg's own timeouts make a blocked read return, so the reader thread ends
                # and the capture can be released safely (releasing it under a read that is
                # still blocked crashed the process). Longer than the stall timeout, so that
                # the stall is reported first.
                read_ms = int((stall_timeout_s + READ_TIMEOUT_MARGIN_S) * 1000)
                params = [
                    cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                    OPEN_TIMEOUT_MS,
                    cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                    read_ms,
                ]
                self.capture = cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
            else:
                self.capture = cv2.VideoCapture(target)
        if not self.capture.isOpened():
            self.capture.release()
            raise SourceError(
                f"cannot open camera or stream '{target}' (missing or busy)", hint=SOURCE_HINT
            )
        self.capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self.fps = float(self.capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self._latest = LatestSlot()  # (image, grabbed at)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="capture", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            ok, image = self.capture.read()
            if not ok:
                self._latest.end()
                return
            self._latest.put((image, time.perf_counter()))

    def __iter__(self) -> Iterator[Frame]:
        start = time.perf_counter()
        index = 0
        while True:
            got, item = self._latest.take(self.stall_timeout_s)
            if not got:
                if self._latest.timed_out:
                    log.warning(
                        "%s: no frame for %.0f s, stopping", self.name, self.stall_timeout_s
                    )
                    self.stalled = True
                return
            image, grabbed_at = item
            yield Frame(to_bgr(image), index, grabbed_at - start)
            index += 1

    def close(self) -> None:
        self._stop.set()
        _release_when_reader_ends(
            self._thread, self.capture, self.stall_timeout_s + READ_TIMEOUT_MARGIN_S + 2, self.name
        )


def open_source(target: str, stride: int = 1, stall_timeout_s: float = 10.0) -> Source:
    """Open `target`: digits -> camera index, URL -> stream, image path -> one frame, else a video
    file played frame by frame (so runs on files are reproducible)."""
    if target.strip().isdigit():
        return LiveSource(int(target), stall_timeout_s)
    if _URL.match(target):
        return LiveSource(target, stall_timeout_s)
    path = Path(target)
    if not path.exists():
        raise SourceError(f"{target}: no such camera, file or URL", hint=SOURCE_HINT)
    if path.is_dir():
        raise SourceError(f"{target}: is a folder, not a video or image", hint=SOURCE_HINT)
    if not os.access(path, os.R_OK):
        raise SourceError(f"{target}: permission denied")
    if path.stat().st_size == 0:
        raise SourceError(f"{target}: empty file (0 bytes)")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(path)
    return VideoFileSource(path, stride=stride)
