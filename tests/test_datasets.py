from __future__ import annotations

import numpy as np
import pytest

from fer_live.engines.errors import InputFileError
from fer_live.train.datasets import load_faces, split_faces
from fer_live.train.metrics import classification_report


def _csv(tmp_path, body: str, header: str = "emotion,pixels,Usage"):
    path = tmp_path / "fer2013.csv"
    path.write_text(header + "\n" + body)
    return path


def test_kaggle_csv_loads(tmp_path):
    pixels = " ".join(["7"] * 48 * 48)
    path = _csv(tmp_path, f"3,{pixels},Training\n6,{pixels},PrivateTest\n")
    faces = load_faces(path)
    assert faces.images.shape == (2, 48, 48) and list(faces.labels) == [3, 6]
    assert list(faces.usage) == ["Training", "PrivateTest"]


@pytest.mark.parametrize(
    ("body", "header", "message"),
    [
        ("3,1 2 3,Training\n", "emotion,pixels,Usage", "row 2: 3 pixels is not a square image"),
        ("3,a b c d,Training\n", "emotion,pixels,Usage", "row 2: pixels are not integers"),
        ("9,1 2 3 4,Training\n", "emotion,pixels,Usage", "row 2: unknown label 9"),
        ("3,1 2 3 4\n", "label,image", "expected columns emotion,pixels"),
    ],
)
def test_malformed_csv_names_file_row_and_problem(tmp_path, body, header, message):
    path = _csv(tmp_path, body, header)
    with pytest.raises(InputFileError, match=message) as info:
        load_faces(path)
    assert str(path) in info.value.message


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        load_faces(tmp_path / "nope.npz")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(InputFileError, match="unknown dataset format"):
        load_faces(tmp_path / "x.txt")


def test_image_folder_layout(tmp_path):
    import cv2

    for split, name in (("train", "Training_1.jpg"), ("test", "PrivateTest_2.jpg")):
        (tmp_path / split / "happy").mkdir(parents=True)
        cv2.imwrite(str(tmp_path / split / "happy" / name), np.zeros((48, 48), np.uint8))
    faces = load_faces(tmp_path)
    assert sorted(faces.usage) == ["PrivateTest", "Training"] and list(faces.labels) == [3, 3]


def test_official_split_counts_and_no_leakage(fer2013):
    faces = load_faces(fer2013)
    splits = split_faces(faces)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (28709, 3589, 3589)
    assert list(splits.test.class_counts()) == [491, 55, 528, 879, 594, 416, 626]
    assert faces.votes is not None and faces.votes.shape == (35887, 10)


def test_random_split_is_seeded_and_disjoint(fer2013):
    faces = load_faces(fer2013)
    a, b = split_faces(faces, "random", seed=3), split_faces(faces, "random", seed=3)
    assert np.array_equal(a.test.images, b.test.images)
    assert len(a.train) + len(a.val) + len(a.test) == len(faces)


def test_metrics_on_known_predictions():
    truth = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 2, 0])
    report = classification_report(truth, predicted, ("a", "b", "c"))
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert report["per_class"]["a"]["recall"] == pytest.approx(1 / 2)
    assert report["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    f1 = [report["per_class"][k]["f1"] for k in "abc"]
    assert report["macro_f1"] == pytest.approx(np.mean(f1))
