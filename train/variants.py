"""Dataset variants of the paper (§3). Only the training split is ever changed; validation and
test stay as loaded (never augmented, never relabelled).

- original: as loaded.
- filtered: FER+ votes instead of the paper's hand filtering. A training face is dropped when
  "not a face" (NF) has the most votes; it is relabelled when one of the seven emotions holds a
  clear majority (at least 6 of the 10 votes) and differs from the FER2013 label; otherwise it is
  kept as it is. Faces without votes are kept.
- balanced / filtered-balanced: every class of the training split brought to 8,000 faces, the
  missing ones made from random faces of that class by rotation ±10°, horizontal mirroring and zoom
  1.1–1.2 (classes above 8,000 are sampled down).
- binary-<emotion> (§3.5): that emotion augmented to 6,000 faces against 6,000 "other" (1,000 from
  each other class); labels stay FER labels, training with `--positive EMOTION` turns them into
  1 for the chosen emotion and 0 for the rest.
"""

from __future__ import annotations

import numpy as np

from fer_live.engines.errors import UnknownNameError
from fer_live.engines.labels import EMOTIONS, NUM_CLASSES
from fer_live.train.datasets import FaceSet, Splits

# FER label -> FER+ vote column (vote order: neutral, happiness, surprise, sadness, anger, disgust,
# fear, contempt, unknown, NF).
FERPLUS_COLUMN_OF_LABEL = np.array([4, 5, 6, 1, 3, 2, 0])
NOT_A_FACE_COLUMN = 9
CLEAR_MAJORITY = 6
BALANCED_PER_CLASS = 8000
BINARY_POSITIVES = 6000
BINARY_PER_OTHER = 1000
VARIANTS = (
    "original",
    "filtered",
    "balanced",
    "filtered-balanced",
    *(f"binary-{e}" for e in EMOTIONS),
)


def make_variant(splits: Splits, variant: str, seed: int = 0) -> Splits:
    rng = np.random.default_rng(seed)
    if variant == "original":
        return splits
    if variant == "filtered":
        return Splits(filter_with_votes(splits.train), splits.val, splits.test)
    if variant == "balanced":
        return Splits(balance(splits.train, BALANCED_PER_CLASS, rng), splits.val, splits.test)
    if variant == "filtered-balanced":
        train = balance(filter_with_votes(splits.train), BALANCED_PER_CLASS, rng)
        return Splits(train, splits.val, splits.test)
    if variant.startswith("binary-") and variant[7:] in EMOTIONS:
        train = binary_set(splits.train, EMOTIONS.index(variant[7:]), rng)
        return Splits(train, splits.val, splits.test)
    raise UnknownNameError("dataset variant", variant, VARIANTS)


def filter_with_votes(faces: FaceSet) -> FaceSet:
    """Drop NF-majority faces, relabel clear FER+ majorities (rule in the module docstring)."""
    if faces.votes is None:
        raise UnknownNameError("dataset variant", "filtered (needs FER+ votes)", ["original"])
    votes = faces.votes
    emotion_votes = votes[:, FERPLUS_COLUMN_OF_LABEL]  # N×7 in FER label order
    has_votes = votes.sum(axis=1) > 0
    not_a_face = has_votes & (votes[:, NOT_A_FACE_COLUMN] >= votes[:, :NOT_A_FACE_COLUMN].max(1))
    keep = ~not_a_face
    labels = faces.labels.copy()
    top = emotion_votes.argmax(axis=1)
    clear = has_votes & (emotion_votes.max(axis=1) >= CLEAR_MAJORITY) & (top != labels)
    labels[clear] = top[clear]
    relabelled = FaceSet(faces.images, labels, faces.usage, faces.votes, faces.source)
    return relabelled.subset(keep)


def augment_faces(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotation ±10°, mirroring (half), zoom 1.1–1.2 about the centre; uint8 N×48×48 in and out."""
    import cv2

    out = np.empty_like(images)
    height, width = images.shape[1:3]
    centre = (width / 2, height / 2)
    for i, image in enumerate(images):
        matrix = cv2.getRotationMatrix2D(centre, rng.uniform(-10, 10), rng.uniform(1.1, 1.2))
        warped = cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
        out[i] = warped[:, ::-1] if rng.random() < 0.5 else warped
    return out


def _resample_class(faces: FaceSet, label: int, count: int, rng: np.random.Generator) -> FaceSet:
    """`count` faces of `label`: all originals (or a sample of them) plus augmented copies."""
    index = np.flatnonzero(faces.labels == label)
    if len(index) == 0:
        raise UnknownNameError("class with faces", EMOTIONS[label], ["(empty in this split)"])
    if len(index) >= count:
        return faces.subset(np.sort(rng.choice(index, count, replace=False)))
    extra = rng.choice(index, count - len(index), replace=True)
    originals = faces.subset(index)
    images = np.concatenate([originals.images, augment_faces(faces.images[extra], rng)])
    labels = np.full(count, label, faces.labels.dtype)
    usage = np.full(count, "Training", faces.usage.dtype)
    return FaceSet(images, labels, usage, None, faces.source)


def _concat(parts: list[FaceSet], rng: np.random.Generator) -> FaceSet:
    order = rng.permutation(sum(len(p) for p in parts))
    return FaceSet(
        np.concatenate([p.images for p in parts])[order],
        np.concatenate([p.labels for p in parts])[order],
        np.concatenate([p.usage for p in parts])[order],
        None,
        parts[0].source,
    )


def balance(faces: FaceSet, per_class: int, rng: np.random.Generator) -> FaceSet:
    return _concat([_resample_class(faces, c, per_class, rng) for c in range(NUM_CLASSES)], rng)


def binary_set(
    faces: FaceSet,
    positive: int,
    rng: np.random.Generator,
    positives: int = BINARY_POSITIVES,
    per_other: int = BINARY_PER_OTHER,
) -> FaceSet:
    """`positives` faces of the chosen class vs `per_other` of each other class (FER labels kept;
    training turns them into 1/0 for the chosen class)."""
    parts = [_resample_class(faces, positive, positives, rng)]
    parts += [
        _resample_class(faces, c, per_other, rng) for c in range(NUM_CLASSES) if c != positive
    ]
    return _concat(parts, rng)
