"""fer-live end to end on the shared media, as a user runs it (real commands, real files)."""

from __future__ import annotations

import pytest

from tests.conftest import frame_count, read_csv, run_command

CSV_COLUMNS = [
    "frame",
    "timestamp_s",
    "face_id",
    "x",
    "y",
    "w",
    "h",
    "detection_score",
    "label",
    "confidence",
    "angry",
    "disgust",
    "fear",
    "happy",
    "sad",
    "surprise",
    "neutral",
]


@pytest.mark.parametrize("mode", ["single", "ensemble", "ovr"])
def test_live_on_talking_head_file(media, model_dir, tmp_path, mode):
    csv_path, mp4_path = tmp_path / "out.csv", tmp_path / "out.mp4"
    result = run_command(
        "fer-live",
        "--camera",
        str(media / "talking_head_webcam_man.mp4"),
        "--model",
        "tiny",
        "--mode",
        mode,
        "--no-display",
        "--max-frames",
        "60",
        "--csv",
        str(csv_path),
        "--record",
        str(mp4_path),
        env_extra={"FER_MODEL_DIR": str(model_dir)},
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    columns, rows = read_csv(csv_path)
    assert columns == CSV_COLUMNS
    frames_with_face = {int(row["frame"]) for row in rows}
    assert len(frames_with_face) >= 0.95 * 60
    assert frame_count(mp4_path) == 60
    assert {row["face_id"] for row in rows} == {"1"}  # one person, one identity
    for row in rows:
        total = sum(float(row[c]) for c in CSV_COLUMNS[-7:])
        assert abs(total - 1) < 2e-3
    assert not list(tmp_path.glob(".*partial*"))  # finalised, nothing left half-written


@pytest.mark.parametrize("photo", ["photo_two_people.jpg", "photo_kit_with_rose.jpg"])
def test_both_faces_found_and_labelled_on_photos(media, model_dir, tmp_path, photo):
    csv_path = tmp_path / "photo.csv"
    result = run_command(
        "fer-live",
        "--camera",
        str(media / photo),
        "--model",
        "tiny",
        "--no-display",
        "--csv",
        str(csv_path),
        env_extra={"FER_MODEL_DIR": str(model_dir)},
    )
    assert result.returncode == 0, result.stderr
    _, rows = read_csv(csv_path)
    assert len(rows) == 2
    assert all(row["label"] in CSV_COLUMNS[-7:] for row in rows)
    assert len({row["face_id"] for row in rows}) == 2


@pytest.mark.parametrize(
    ("camera", "message"),
    [("7", "cannot open camera or stream '7'"), ("/no/such/video.mp4", "no such camera, file")],
)
def test_unopenable_source_is_one_line_and_exit_2(camera, message, model_dir):
    result = run_command(
        "fer-live", "--camera", camera, "--no-display", env_extra={"FER_MODEL_DIR": str(model_dir)}
    )
    assert result.returncode == 2
    assert message in result.stderr and "--camera takes" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_model_lists_choices(media, model_dir):
    result = run_command(
        "fer-live",
        "--camera",
        str(media / "photo_obama.jpg"),
        "--model",
        "tinyy",
        "--no-display",
        env_extra={"FER_MODEL_DIR": str(model_dir)},
    )
    assert result.returncode == 2
    assert "unknown model 'tinyy'" in result.stderr and "did you mean 'tiny'" in result.stderr


def test_haar_fallback_finds_the_face(media, model_dir, tmp_path):
    csv_path = tmp_path / "haar.csv"
    result = run_command(
        "fer-live",
        "--camera",
        str(media / "photo_obama.jpg"),
        "--model",
        "tiny",
        "--detector",
        "haar",
        "--no-display",
        "--csv",
        str(csv_path),
        env_extra={"FER_MODEL_DIR": str(model_dir)},
    )
    assert result.returncode == 0, result.stderr
    assert len(read_csv(csv_path)[1]) >= 1
