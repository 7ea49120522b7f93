"""Face detectors: MediaPipe BlazeFace (default) and OpenCV's Haar cascade (fallback).

The BlazeFace models ship with this package (`realtime/assets/`, from the mediapipe 0.10.21 wheel,
Apache-2.0, see `LICENSE.mediapipe`): mediapipe 1.x ships no model files and nothing is downloaded
at run time. short: faces within ~2 m (webcams); full: smaller faces in wide shots.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
import types
from pathlib import Path

import numpy as np

from fer_live.engines.errors import UnknownNameError
from fer_live.realtime.geometry import clip_boxes
from fer_live.realtime.quiet import native_stderr_muted
from fer_live.realtime.types import FaceBoxes

ASSETS = Path(__file__).with_name("assets")
BLAZEFACE_MODELS = {
    "short": ASSETS / "face_detection_short_range.tflite",
    "full": ASSETS / "face_detection_full_range_sparse.tflite",
}
DETECTORS = ("mediapipe", "mediapipe-full", "haar")


def _import_mediapipe():
    """Import mediapipe without dragging TensorFlow or matplotlib in when nothing else needs them.

    - mediapipe 1.2's `tasks.python.core.optional_dependencies` imports TensorFlow, if
      installed, only for a documentation decorator and falls back to a no-op on
      ModuleNotFoundError. That import costs ~3 s of every start-up (measured with `python -X
      importtime -c "import mediapipe"`); a None entry in sys.modules makes it take the
      fallback. The entry is removed again, so a later `import tensorflow` (Keras backend) works.
    - `tasks.python.vision` imports its drawing utilities, which import matplotlib.pyplot at
      the top (used only inside their plotting functions). That is 0.3 s of the detector's
      start-up, on the main thread, before the first frame (2-core AMD EPYC with AVX-512; the
      import alone: 0.25 s with stand-ins against 0.6 s). Stand-ins take matplotlib's place while
      mediapipe imports (see _ImportedOnUse); fer-video imports the real one on a thread.
    """
    import sys

    if "tensorflow" in sys.modules:
        import mediapipe

        return mediapipe
    sys.modules["tensorflow"] = None  # type: ignore[assignment]
    try:
        with _matplotlib_stand_ins():
            import mediapipe
            import mediapipe.tasks.python.vision  # loads optional_dependencies under the block
    finally:
        del sys.modules["tensorflow"]
    return mediapipe


class _ImportedOnUse(types.ModuleType):
    """A module's stand-in: the first attribute read imports the real module and forwards to
    it. A thread that imported the name while the stand-in was in sys.modules waits until it
    has been taken out, so it never sees a half-made module."""

    def __init__(self, name: str, taken_out: threading.Event) -> None:
        super().__init__(name)
        self._taken_out = taken_out

    def __getattr__(self, attribute: str):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        self._taken_out.wait()
        return getattr(importlib.import_module(self.__name__), attribute)


@contextlib.contextmanager
def _matplotlib_stand_ins():
    import sys

    names = ("matplotlib", "matplotlib.pyplot")
    if any(name in sys.modules for name in names):
        yield
        return
    taken_out = threading.Event()
    package, pyplot = (_ImportedOnUse(name, taken_out) for name in names)
    # `import matplotlib.pyplot as plt` reads the attribute of the package, not sys.modules.
    package.__dict__["pyplot"] = pyplot
    sys.modules.update({"matplotlib": package, "matplotlib.pyplot": pyplot})
    try:
        yield
    finally:
        for name, stand_in in zip(names, (package, pyplot), strict=True):
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
        taken_out.set()


class MediaPipeDetector:
    """BlazeFace through mediapipe's FaceDetector task (IMAGE mode, so frames may arrive in any
    order and be skipped)."""

    def __init__(self, model_range: str = "short", min_score: float = 0.5) -> None:
        os.environ.setdefault("GLOG_minloglevel", "2")  # mediapipe's C++ start-up chatter
        with native_stderr_muted():
            mp = _import_mediapipe()

        vision = mp.tasks.vision
        options = vision.FaceDetectorOptions(
            base_options=mp.tasks.BaseOptions(model_asset_path=str(BLAZEFACE_MODELS[model_range])),
            min_detection_confidence=min_score,
        )
        self._mp = mp
        with native_stderr_muted():
            self._detector = vision.FaceDetector.create_from_options(options)
        self._warmed_up = False

    def detect(self, image: np.ndarray) -> FaceBoxes:
        import cv2

        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        mp_image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        if self._warmed_up:
            result = self._detector.detect(mp_image)
        else:  # the first call logs LiteRT delegate/alignment notices on fd 2
            with native_stderr_muted():
                result = self._detector.detect(mp_image)
            self._warmed_up = True
        if not result.detections:
            return FaceBoxes.empty()
        boxes, scores = [], []
        for detection in result.detections:
            box = detection.bounding_box
            boxes.append(
                [box.origin_x, box.origin_y, box.origin_x + box.width, box.origin_y + box.height]
            )
            scores.append(detection.categories[0].score if detection.categories else 1.0)
        return _valid(np.array(boxes, np.float32), np.array(scores, np.float32), image)

    def close(self) -> None:
        if self._detector is not None:
            with native_stderr_muted():
                self._detector.close()
            self._detector = None


class HaarDetector:
    """OpenCV's frontal-face Haar cascade (ships inside opencv-contrib-python 4.x)."""

    def __init__(self, min_size: int = 24) -> None:
        import cv2

        self.min_size = min_size
        self._cascade = cv2.CascadeClassifier(
            os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
        )

    def detect(self, image: np.ndarray) -> FaceBoxes:
        import cv2

        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        found, _, weights = self._cascade.detectMultiScale3(
            gray,
            scaleFactor=1.1,
            minNeighbors=5,
            minSize=(self.min_size, self.min_size),
            outputRejectLevels=True,
        )
        if len(found) == 0:
            return FaceBoxes.empty()
        xywh = np.asarray(found, np.float32)
        boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        # Haar weights are unbounded margins; squash to (0, 1) so scores read like MediaPipe's.
        scores = 1 / (1 + np.exp(-np.asarray(weights, np.float32).reshape(-1) / 2))
        return _valid(boxes, scores, image)

    def close(self) -> None:
        pass


def _valid(boxes: np.ndarray, scores: np.ndarray, image: np.ndarray) -> FaceBoxes:
    """Clip to the frame (faces at edges) and drop boxes that end up empty."""
    clipped = clip_boxes(boxes, image.shape[1], image.shape[0])
    keep = (clipped[:, 2] - clipped[:, 0] >= 2) & (clipped[:, 3] - clipped[:, 1] >= 2)
    return FaceBoxes(clipped[keep], scores[keep])


def make_detector(name: str = "mediapipe", min_score: float = 0.5):
    if name == "mediapipe":
        return MediaPipeDetector("short", min_score)
    if name == "mediapipe-full":
        return MediaPipeDetector("full", min_score)
    if name == "haar":
        return HaarDetector()
    raise UnknownNameError("detector", name, DETECTORS)
