"""Variant builders on a small slice: class counts, no leakage, augmentation only in training."""

from __future__ import annotations

import numpy as np
import pytest

from fer_live.train.datasets import FaceSet, Splits, load_faces, split_faces
from fer_live.train.variants import (
    augment_faces,
    balance,
    binary_set,
    filter_with_votes,
    make_variant,
)


def _small(fer2013, per_split: int = 700) -> Splits:
    splits = split_faces(load_faces(fer2013))
    parts = (splits.train, splits.val, splits.test)
    return Splits(*(part.subset(np.arange(per_split)) for part in parts))


def test_balanced_counts_and_untouched_val_test(fer2013):
    small = _small(fer2013)
    train = balance(small.train, 120, np.random.default_rng(0))
    assert list(train.class_counts()) == [120] * 7
    balanced = make_variant(small, "balanced")
    assert balanced.val is small.val and balanced.test is small.test


def test_binary_set_counts(fer2013):
    small = _small(fer2013)
    faces = binary_set(small.train, 3, np.random.default_rng(0), positives=300, per_other=50)
    counts = faces.class_counts()
    assert counts[3] == 300 and all(counts[c] == 50 for c in range(7) if c != 3)


def test_no_test_or_validation_image_enters_training(fer2013):
    small = _small(fer2013)
    train = balance(small.train, 150, np.random.default_rng(1))
    held_out = {img.tobytes() for img in np.concatenate([small.val.images, small.test.images])}
    in_small_train = {img.tobytes() for img in small.train.images}
    leaked = [
        img
        for img in train.images
        if img.tobytes() in held_out and img.tobytes() not in in_small_train
    ]  # FER2013's own cross-split duplicates
    assert leaked == []


def test_augmentation_changes_pixels_but_keeps_shape():
    faces = np.random.default_rng(0).integers(0, 256, (8, 48, 48), np.uint8)
    out = augment_faces(faces, np.random.default_rng(0))
    assert out.shape == faces.shape and out.dtype == np.uint8
    assert not np.array_equal(out, faces)


def test_filter_drops_not_a_face_and_relabels_clear_majorities():
    images = np.zeros((4, 48, 48), np.uint8)
    votes = np.zeros((4, 10), np.int64)
    votes[0, 9] = 10  # NF -> dropped
    votes[1, 1] = 8  # happiness 8/10, FER label angry -> relabelled happy
    votes[2, 1] = 5  # 5/10 is no clear majority -> kept as angry
    votes[2, 4] = 5
    votes[3, 4] = 10  # anger agrees -> kept
    faces = FaceSet(images, np.zeros(4, np.int64), np.array(["Training"] * 4), votes)
    filtered = filter_with_votes(faces)
    assert list(filtered.labels) == [3, 0, 0]


@pytest.mark.parametrize("variant", ["filtered", "filtered-balanced", "binary-fear"])
def test_variants_build_from_real_data(fer2013, variant):
    small = _small(fer2013, 400)
    built = make_variant(small, variant)
    assert len(built.train) > 0 and built.test is small.test
