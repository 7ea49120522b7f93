"""The Python API (fer_live.Recognizer) on real data, against the commands' own results."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer_live.engines.errors import FerError

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def recognizer():
    from fer_live import Recognizer

    with Recognizer(model="five_layer", mode="auto", detector="mediapipe") as shared:
        yield shared


def test_detect_finds_both_people_with_their_emotions(media, recognizer):
    from fer_live import EMOTIONS

    photo = media / "photo_two_people.jpg"
    faces = recognizer.detect(photo)
    assert len(faces) == 2
    image = cv2.imread(str(photo))
    for face in faces:
        x, y, w, h = face.box
        assert 0 <= x < image.shape[1] and 0 <= y < image.shape[0] and w > 20 and h > 20
        assert 0 < face.score <= 1 and face.face_id is None
        assert face.label in EMOTIONS and list(face.probabilities) == list(EMOTIONS)
        assert face.confidence == max(face.probabilities.values())
        assert abs(sum(face.probabilities.values()) - 1) < 1e-4
        assert json.loads(json.dumps(face.to_dict()))["box"] == list(face.box)
    # The same photo as a BGR array, an RGB array (color="rgb") and a PIL image: the same faces.
    from PIL import Image

    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    for other in (
        recognizer.detect(image),
        recognizer.detect(rgb, color="rgb"),
        recognizer.detect(Image.open(photo)),
    ):
        assert [f.box for f in other] == [f.box for f in faces]
        assert [f.label for f in other] == [f.label for f in faces]


def test_classify_agrees_with_fer_eval_on_100_private_test_faces(fer2013, recognizer):
    """The same predictions as fer-eval's path (train.evaluate.predict_faces) for the model."""
    from fer_live.engines.labels import EMOTIONS
    from fer_live.engines.model import FerModel
    from fer_live.train.datasets import load_faces
    from fer_live.train.evaluate import predict_faces, select_split

    faces = select_split(load_faces(fer2013, load_votes=False), "PrivateTest").images[:100]
    with FerModel.open("five_layer", "auto") as model:
        expected = predict_faces(model, faces).argmax(axis=1)
    probs = recognizer.classify(faces)
    assert probs.shape == (100, len(EMOTIONS)) and probs.dtype == np.float32
    assert probs.argmax(axis=1).tolist() == expected.tolist()
    as_list = recognizer.classify(list(faces[:5]))
    np.testing.assert_allclose(as_list, probs[:5], atol=1e-6)
    assert recognizer.classify(faces[0]).shape == (1, len(EMOTIONS))  # one 2-D face


def test_process_video_tracks_ids_and_frames_convert_to_a_table(media, recognizer):
    import pandas

    from fer_live import to_dataframe

    frames = []
    for frame in recognizer.process_video(media / "talking_head_webcam_man.mp4", stride=5):
        frames.append(frame)
        if len(frames) == 24:  # 4 s of the clip
            break
    assert [f.frame_index for f in frames] == list(range(0, 120, 5))
    assert all(b.timestamp > a.timestamp for a, b in itertools.pairwise(frames))
    ids = {face.face_id for frame in frames for face in frame.faces}
    assert len(ids) == 1 and None not in ids  # one man, one stable id
    table = to_dataframe(frames)
    assert isinstance(table, pandas.DataFrame)
    assert len(table) == sum(len(f.faces) for f in frames)
    assert {"frame_index", "timestamp", "face_id", "x", "y", "w", "h", "label", "happy"} <= set(
        table.columns
    )
    assert frames[0].to_dict()["faces"][0]["face_id"] == frames[0].faces[0].face_id


def test_analyze_video_writes_what_fer_video_writes(media, recognizer, tmp_path):
    photo = media / "photo_two_people.jpg"
    summary = recognizer.analyze_video(photo, tmp_path)
    assert summary["kind"] == "image" and summary["faces"] == 2
    written = json.loads((tmp_path / "photo_two_people.summary.json").read_text())
    assert written["faces"] == 2
    assert (tmp_path / "photo_two_people.csv").is_file()


def test_bad_images_and_models_are_fer_errors(media, recognizer, tmp_path):
    from fer_live import Recognizer

    with pytest.raises(FerError, match="unknown model"):
        Recognizer("no_such_model")
    with pytest.raises(FerError):
        recognizer.detect(np.zeros((10, 10), np.float32))
    with pytest.raises(FerError, match="color"):
        recognizer.detect(np.zeros((10, 10, 3), np.uint8), color="hsv")
    with pytest.raises(FerError):
        recognizer.classify([np.zeros((48, 48), np.float64)])
    with pytest.raises(FerError):
        recognizer.detect(media / "missing.jpg")
    with pytest.raises(FerError):
        recognizer.analyze_video(media / "missing.mp4", tmp_path)
    assert recognizer.classify([]).shape == (0, 7)


def test_a_folder_as_a_path_works_and_wrong_types_are_fer_errors(fer2013):
    from fer_live import Recognizer
    from fer_live.engines.store import SHIPPED_DIR

    faces = np.load(fer2013)["images"][:4]
    with Recognizer(SHIPPED_DIR / "compact_resnet") as by_path:
        from_path = by_path.classify(list(faces))
    with Recognizer("compact_resnet") as by_name:
        np.testing.assert_array_equal(from_path, by_name.classify(list(faces)))
    with pytest.raises(FerError, match="not int 42"):
        Recognizer(42)
    with pytest.raises(FerError, match="unknown flip setting 'False'"):
        Recognizer("compact_resnet", flip=False)


def readme_example() -> str:
    """The first Python block of the README's "Python API" section (the wheel check runs it)."""
    section = README.read_text(encoding="utf-8").split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_runs(media, monkeypatch, capsys):
    monkeypatch.chdir(media)
    exec(compile(readme_example(), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert printed.count("\n") >= 2  # one line per face of photo_two_people.jpg, at least
