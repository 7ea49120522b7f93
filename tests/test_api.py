"""The Python API (fer_live.Recognizer) on real data, against the commands' own results."""

from __future__ import annotations

import numpy as np
import pytest

from engines.errors import FerError


def test_detect_finds_both_people_and_analyze_labels_them(media):
    from fer_live import EMOTIONS, Recognizer

    with Recognizer("five_layer") as recognizer:
        faces = recognizer.detect(media / "photo_two_people.jpg")
        assert len(faces) == 2
        assert all(0 < face.score <= 1 and face.box[2] > face.box[0] for face in faces)
        analyzed = recognizer.analyze(str(media / "photo_two_people.jpg"))
    assert [a.box for a in analyzed] == [f.box for f in faces]
    for result in analyzed:
        assert result.label in EMOTIONS
        assert abs(sum(result.probabilities.values()) - 1) < 1e-4


def test_classify_agrees_with_fer_eval_on_100_private_test_faces(fer2013):
    """The same predictions as fer-eval's path (train.evaluate.predict_faces) for the model."""
    from engines.labels import EMOTIONS
    from engines.model import FerModel
    from fer_live import Recognizer
    from train.datasets import load_faces
    from train.evaluate import predict_faces, select_split

    faces = select_split(load_faces(fer2013, load_votes=False), "PrivateTest").images[:100]
    with FerModel.open("five_layer", "auto") as model:
        expected = [EMOTIONS[i] for i in predict_faces(model, faces).argmax(axis=1)]
    with Recognizer("five_layer") as recognizer:
        got = [emotion.label for emotion in recognizer.classify(faces)]
        single = recognizer.classify(faces[0])
    assert got == expected
    assert single[0].label == expected[0]


def test_bad_images_and_models_are_fer_errors(media):
    from fer_live import Recognizer

    with pytest.raises(FerError, match="unknown model"):
        Recognizer("no_such_model")
    with Recognizer("five_layer") as recognizer:
        with pytest.raises(FerError):
            recognizer.detect(np.zeros((10, 10), np.float32))
        with pytest.raises(FerError):
            recognizer.classify([np.zeros((48, 48), np.float64)])
        with pytest.raises(FerError):
            recognizer.analyze(media / "missing.jpg")
        assert recognizer.classify([]) == []
