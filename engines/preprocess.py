"""`to_model_input`: the one preprocessing function shared by training, calibration and runtime.

Face crops (BGR or gray uint8, any size) become the float32 N×H×W×C array the model's spec asks for.
Keeping this in one place is what makes a model behave the same in `fer-train`, in INT8 calibration
and in `fer-live`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fer_live.engines.spec import ModelSpec

# ImageNet channel means in BGR order, as Keras's "caffe" preprocessing for VGG16/ResNet50.
_CAFFE_BGR_MEANS = np.array([103.939, 116.779, 123.68], dtype=np.float32)


def to_model_input(images: np.ndarray | Sequence[np.ndarray], spec: ModelSpec) -> np.ndarray:
    """Convert face images to model input.

    images: a uint8 array N×H×W (gray) or N×H×W×3 (BGR), or a sequence of such images of any sizes.
    Returns float32 N×spec.height×spec.width×spec.channels, normalised as the spec says.
    """
    if isinstance(images, np.ndarray) and images.ndim in (3, 4) and _already_sized(images, spec):
        batch = images.astype(np.float32)
        if batch.ndim == 3:
            batch = batch[..., None]
        elif spec.color == "gray":
            batch = _bgr_to_gray(batch)[..., None]
        else:
            batch = batch[..., ::-1]  # BGR -> RGB
    else:
        batch = (
            np.stack([_resize_one(image, spec) for image in images])
            if len(images)
            else (np.zeros((0, spec.height, spec.width, 1), np.float32))
        )
    if spec.channels == 3 and batch.shape[-1] == 1:
        batch = np.repeat(batch, 3, axis=-1)  # gray-trained transfer models see gray in 3 channels
    return _normalize(batch, spec)


def _already_sized(images: np.ndarray, spec: ModelSpec) -> bool:
    return (
        images.shape[1] == spec.height
        and images.shape[2] == spec.width
        and (images.ndim == 3 or images.shape[3] == 3)
    )


def _bgr_to_gray(batch: np.ndarray) -> np.ndarray:
    # Same weights as cv2.COLOR_BGR2GRAY, so array and per-crop paths agree.
    return batch[..., 0] * 0.114 + batch[..., 1] * 0.587 + batch[..., 2] * 0.299


def _resize_one(image: np.ndarray, spec: ModelSpec) -> np.ndarray:
    import cv2

    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if spec.color == "gray" and image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    elif spec.color == "rgb":
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB)
    shrinking = image.shape[0] > spec.height or image.shape[1] > spec.width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    resized = cv2.resize(image, (spec.width, spec.height), interpolation=interpolation)
    resized = resized.astype(np.float32)
    return resized[..., None] if resized.ndim == 2 else resized


def _normalize(batch: np.ndarray, spec: ModelSpec) -> np.ndarray:
    if spec.normalization == "unit":
        return (batch / 255.0).astype(np.float32)
    if spec.normalization == "lite":
        return ((batch - 127.0) / 128.0).astype(np.float32)
    # caffe: the spec's rgb channels are flipped to BGR and centred on the ImageNet means.
    bgr = batch[..., ::-1] if spec.color == "rgb" else batch
    return (bgr - _CAFFE_BGR_MEANS).astype(np.float32)
