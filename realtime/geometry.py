"""Box geometry: square crops with margin, clipping, IoU."""

from __future__ import annotations

import numpy as np


def clip_boxes(xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clip N×4 boxes to the frame; returns float32."""
    clipped = np.asarray(xyxy, np.float32).copy()
    clipped[:, [0, 2]] = clipped[:, [0, 2]].clip(0, width)
    clipped[:, [1, 3]] = clipped[:, [1, 3]].clip(0, height)
    return clipped


def square_crop_boxes(xyxy: np.ndarray, width: int, height: int, margin: float = 0.2) -> np.ndarray:
    """Integer crop windows: each box made square around its centre, grown by `margin` of its side,
    then clipped to the frame (so crops at edges stay inside; never empty: at least 1×1)."""
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    centre_x = (boxes[:, 0] + boxes[:, 2]) / 2
    centre_y = (boxes[:, 1] + boxes[:, 3]) / 2
    side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * (1 + margin)
    half = np.maximum(side, 1.0) / 2
    crop = np.stack([centre_x - half, centre_y - half, centre_x + half, centre_y + half], axis=1)
    crop = np.round(crop).astype(np.int64)
    crop[:, [0, 2]] = crop[:, [0, 2]].clip(0, width)
    crop[:, [1, 3]] = crop[:, [1, 3]].clip(0, height)
    crop[:, 2] = np.maximum(crop[:, 2], np.minimum(crop[:, 0] + 1, width))
    crop[:, 0] = np.minimum(crop[:, 0], crop[:, 2] - 1)
    crop[:, 3] = np.maximum(crop[:, 3], np.minimum(crop[:, 1] + 1, height))
    crop[:, 1] = np.minimum(crop[:, 1], crop[:, 3] - 1)
    return crop


def crop_faces(image: np.ndarray, xyxy: np.ndarray, margin: float = 0.2) -> list[np.ndarray]:
    """Views of the square crops of `image` around each box."""
    height, width = image.shape[:2]
    return [
        image[y1:y2, x1:x2] for x1, y1, x2, y2 in square_crop_boxes(xyxy, width, height, margin)
    ]


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of N×4 and M×4 xyxy boxes -> N×M in [0, 1]."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = (x2 - x1).clip(0) * (y2 - y1).clip(0)
    area_a = ((a[:, 2] - a[:, 0]).clip(0) * (a[:, 3] - a[:, 1]).clip(0))[:, None]
    area_b = ((b[:, 2] - b[:, 0]).clip(0) * (b[:, 3] - b[:, 1]).clip(0))[None, :]
    union = area_a + area_b - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
