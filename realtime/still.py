"""One still image through the runtime: detect, crop, classify every face in one model call.

Shared by the Python API (Recognizer.detect) and fer-serve's POST /api/image, so a photo gets the
same faces and labels from both (and from fer-video, whose per-frame path is the same steps).
"""

from __future__ import annotations

import numpy as np

from fer_live.engines.labels import EMOTIONS
from fer_live.engines.model import FerModel
from fer_live.realtime.geometry import crop_faces
from fer_live.realtime.types import FaceBoxes


def faces_in_image(
    model: FerModel, detector, image: np.ndarray, margin: float = 0.2
) -> tuple[FaceBoxes, np.ndarray]:
    """The detector's boxes of a BGR uint8 image and the model's N×7 probabilities for them."""
    boxes = detector.detect(image)
    if not len(boxes.xyxy):
        return boxes, np.zeros((0, len(EMOTIONS)), np.float32)
    probs = model.predict_crops(crop_faces(image, boxes.xyxy, margin)).probs
    return boxes, probs.astype(np.float32)


def face_fields(xyxy, probs: np.ndarray, digits: int | None = None) -> dict:
    """What every interface reports of one face: box (x, y, w, h in whole pixels), the most
    probable emotion, its probability and every emotion's (EMOTIONS order), rounded to `digits`
    (JSON answers) or not (the Python API)."""
    x1, y1, x2, y2 = (round(float(v)) for v in xyxy)
    best = int(np.argmax(probs))

    def number(value) -> float:
        return float(value) if digits is None else round(float(value), digits)

    return {
        "box": (x1, y1, x2 - x1, y2 - y1),
        "label": EMOTIONS[best],
        "confidence": number(probs[best]),
        "probabilities": {e: number(p) for e, p in zip(EMOTIONS, probs, strict=True)},
    }
