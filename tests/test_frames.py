"""Frames of odd shapes are converted or rejected with a clear message, never a crash."""

from __future__ import annotations

import numpy as np
import pytest

from fer_live.engines.errors import SourceError
from fer_live.realtime.detectors import make_detector
from fer_live.realtime.sources import to_bgr


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((10, 12), np.uint8),  # gray
        np.zeros((10, 12, 1), np.uint8),
        np.zeros((10, 12, 4), np.uint8),  # BGRA
        np.full((7, 9, 3), 65535, np.uint16),  # 16-bit
        np.zeros((1, 1, 3), np.uint8),
        np.zeros((5, 333, 3), np.uint8),  # odd width
    ],
)
def test_to_bgr_converts(image):
    out = to_bgr(image)
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    assert out.shape[:2] == image.shape[:2]


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((0, 5, 3), np.uint8),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((17000, 1, 3), np.uint8),
    ],
)
def test_to_bgr_rejects_unusable_frames(image):
    with pytest.raises(SourceError):
        to_bgr(image)


@pytest.mark.parametrize("name", ["mediapipe", "mediapipe-full", "haar"])
def test_detectors_survive_tiny_and_8k_frames(name):
    detector = make_detector(name)
    try:
        for shape in [(1, 1, 3), (3, 5, 3), (481, 641, 3), (4320, 7680, 3)]:
            assert len(detector.detect(np.zeros(shape, np.uint8))) == 0
    finally:
        detector.close()


def test_detector_finds_faces_at_frame_edges(media):
    import cv2

    image = cv2.imread(str(media / "photo_two_people.jpg"))
    detector = make_detector("mediapipe")
    try:
        shifted = image[:, 260:]  # Biden's face now cut by the left edge
        boxes = detector.detect(shifted)
    finally:
        detector.close()
    assert len(boxes) >= 1
    assert (boxes.xyxy[:, 0] >= 0).all() and (boxes.xyxy[:, 2] <= shifted.shape[1]).all()


def test_mediapipe_detector_starts_without_tensorflow_or_matplotlib():
    """Start-up cost: mediapipe would import all of TensorFlow for a docs decorator, and
    matplotlib for drawing utilities we never call; both still import normally afterwards."""
    import subprocess
    import sys

    code = (
        "import sys; from fer_live.realtime.detectors import make_detector; "
        "make_detector('mediapipe', 0.5).close(); "
        "print('tensorflow' in sys.modules, 'matplotlib' in sys.modules); "
        "from mediapipe.tasks.python.vision import drawing_utils; "
        "import matplotlib.pyplot as plt; print(drawing_utils.plt.figure is plt.figure)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "True"]
