"""One browser's live view: frames from its WebSocket, faces back.

The browser sends binary messages: a 4-byte little-endian frame number, then the frame as JPEG
or PNG. The receiving side only puts them into a LatestSlot (realtime/sources.py, the slot
fer-live's cameras use), so a frame that arrives while the previous one is still being processed
replaces the waiting one: the server always works on the newest frame and never builds a queue.
A thread per connection runs the runtime's Pipeline (key frames, tracking, smoothing) on the
frames it takes from the slot, exactly as fer-live does for a camera.

Text messages are JSON settings: {"model": ..., "mode": ..., "smoothing": 0..1 (1 = off)}.
"""

from __future__ import annotations

import json
import logging
import struct
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from fer_live.engines.errors import FerError, UsageError
from fer_live.engines.store import MODES
from fer_live.realtime.detectors import make_detector
from fer_live.realtime.pipeline import Pipeline, PipelineOptions
from fer_live.realtime.sources import LatestSlot
from fer_live.realtime.still import face_fields
from fer_live.realtime.types import FaceResult, Frame
from fer_live.realtime.web.models import ModelCache

log = logging.getLogger(__name__)

HEADER = struct.Struct("<I")
MAX_FRAME_BYTES = 4 * 1024 * 1024
MAX_SIDE = 4096
IDLE_POLL_S = 0.5


class LiveConnection:
    """Settings, the newest-frame slot and the processing thread of one WebSocket."""

    def __init__(
        self,
        models: ModelCache,
        send: Callable[[dict], None],
        detector: str = "mediapipe",
        min_score: float = 0.5,
    ) -> None:
        self.models, self.send = models, send
        self.model_name, self.mode = models.default
        self.smoothing = 1.0
        self.slot = LatestSlot()
        self._detector_name, self._min_score = detector, min_score
        self._settings_changed = threading.Event()
        self._started = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name="fer-serve-live", daemon=True)
        self._thread.start()

    # -- called from the WebSocket's receiving side --------------------------------------------

    def feed(self, payload: bytes) -> None:
        if len(payload) <= HEADER.size:
            raise UsageError("a frame message is a 4-byte frame number followed by a JPEG or PNG")
        if len(payload) > MAX_FRAME_BYTES:
            raise UsageError(f"a frame message is at most {MAX_FRAME_BYTES // 1024**2} MB")
        (seq,) = HEADER.unpack_from(payload)
        self.slot.put((seq, payload[HEADER.size :], time.perf_counter()))

    def configure(self, text: str) -> dict:
        """Apply a settings message; returns the settings now in force."""
        try:
            settings = json.loads(text)
        except json.JSONDecodeError:
            raise UsageError(
                'a text message must be JSON settings, e.g. {"smoothing": 0.5}'
            ) from None
        if not isinstance(settings, dict):
            raise UsageError("settings must be a JSON object")
        unknown = set(settings) - {"model", "mode", "smoothing"}
        if unknown:
            raise UsageError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        model = str(settings.get("model", self.model_name))
        mode = str(settings.get("mode", self.mode))
        if mode not in MODES:
            raise UsageError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        smoothing = settings.get("smoothing", self.smoothing)
        if not isinstance(smoothing, (int, float)) or not 0 < smoothing <= 1:
            raise UsageError("smoothing is the newest frame's weight, in (0, 1]; 1 = off")
        self.models.get(model, mode)  # loads it, or raises FerError with the reason
        self.model_name, self.mode, self.smoothing = model, mode, float(smoothing)
        self._settings_changed.set()
        return {"model": model, "mode": mode, "smoothing": self.smoothing}

    def close(self) -> None:
        self.slot.end()
        self._thread.join(timeout=10)

    # -- the processing thread -----------------------------------------------------------------

    def _run(self) -> None:
        detector = make_detector(self._detector_name, self._min_score)
        try:
            while not self.slot.closed:
                self._settings_changed.clear()
                model = self.models.get(self.model_name, self.mode)
                options = PipelineOptions(smooth_alpha=self.smoothing, batch_frames=1)
                pipeline = Pipeline(model, detector, options)
                name = self.model_name
                for result in pipeline.run(self._frames()):
                    self.send(self._message(result.frame, result.faces, name))
        except Exception as error:  # never a silent dead thread: the page shows the reason
            log.exception("live connection failed")
            message = error.message if isinstance(error, FerError) else f"server error: {error}"
            self.send({"type": "error", "error": message, "fatal": True})
        finally:
            detector.close()

    def _frames(self) -> Iterator[Frame]:
        """Decoded newest frames until the settings change or the connection ends. A frame's
        index is the browser's frame number, its timestamp the server's receiving time."""
        import cv2

        while not self._settings_changed.is_set():
            got, item = self.slot.take(IDLE_POLL_S)
            if not got:
                if self.slot.closed:
                    return
                continue
            seq, data, received_at = item
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            if image is None or max(image.shape[:2]) > MAX_SIDE:
                self.send({"type": "error", "error": f"frame {seq} is not a JPEG or PNG image"})
                continue
            yield Frame(image, seq, received_at - self._started)

    def _message(self, frame: Frame, faces: list[FaceResult], model: str) -> dict:
        received_at = self._started + frame.timestamp_s
        return {
            "type": "result",
            "seq": frame.index,
            "model": model,
            "server_ms": round((time.perf_counter() - received_at) * 1000, 1),
            "dropped": self.slot.dropped,
            "faces": [_face_json(face) for face in faces],
        }


def _face_json(face: FaceResult) -> dict:
    # Smoothed probabilities: equal to the raw ones when the page turned smoothing off.
    return {"id": int(face.face_id), **face_fields(face.box, face.smoothed, digits=4)}
