"""Rows of the reliability matrix, each through the real command."""

from __future__ import annotations

import json

import numpy as np

from tests.conftest import read_csv, run_command
from tests.test_live_e2e import CSV_COLUMNS


def _env(model_dir):
    return {"FER_MODEL_DIR": str(model_dir)}


def test_thirty_faces_in_one_frame(media, model_dir, tmp_path):
    import cv2

    portrait = cv2.imread(str(media / "photo_obama.jpg"))
    tile = cv2.resize(portrait[100:480, 320:680], (130, 137))
    grid = np.vstack([np.hstack([tile] * 6)] * 5)
    cv2.imwrite(str(tmp_path / "grid.png"), grid)
    csv_path = tmp_path / "grid.csv"
    result = run_command(
        "fer-live",
        "--camera",
        str(tmp_path / "grid.png"),
        "--model",
        "tiny",
        "--detector",
        "mediapipe-full",
        "--no-display",
        "--csv",
        str(csv_path),
        env_extra=_env(model_dir),
    )
    assert result.returncode == 0, result.stderr
    rows = read_csv(csv_path)[1]
    assert len(rows) >= 16 and len({r["face_id"] for r in rows}) == len(rows)


def test_no_face_anywhere_gives_header_only_csv(model_dir, tmp_path):
    import cv2

    blank = tmp_path / "blank.mp4"
    writer = cv2.VideoWriter(str(blank), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for _ in range(12):
        writer.write(np.full((48, 64, 3), 90, np.uint8))
    writer.release()
    result = run_command(
        "fer-video",
        str(blank),
        "--model",
        "tiny",
        "--quiet",
        "--output-dir",
        str(tmp_path / "out"),
        env_extra=_env(model_dir),
    )
    assert result.returncode == 0, result.stderr
    columns, rows = read_csv(tmp_path / "out" / "blank.csv")
    assert columns == CSV_COLUMNS and rows == []
    summary = json.loads((tmp_path / "out" / "blank.summary.json").read_text())
    assert summary["frames_processed"] == 12 and summary["frames_with_faces"] == 0


def test_unwritable_output_is_a_clear_error(media, model_dir, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    video = run_command(
        "fer-video",
        str(media / "photo_obama.jpg"),
        "--model",
        "tiny",
        "--quiet",
        "--output-dir",
        str(blocker / "out"),
        env_extra=_env(model_dir),
    )
    assert video.returncode == 1
    assert "cannot create output folder" in video.stderr and "Traceback" not in video.stderr
    live = run_command(
        "fer-live",
        "--camera",
        str(media / "photo_obama.jpg"),
        "--model",
        "tiny",
        "--no-display",
        "--csv",
        str(blocker / "x.csv"),
        env_extra=_env(model_dir),
    )
    assert live.returncode == 1
    assert live.stderr.count("error:") == 1 and "Traceback" not in live.stderr
    assert blocker.read_text() == "not a folder"  # inputs untouched


def test_unknown_backend_and_precision_list_choices(media, model_dir):
    for option, value, choices in (
        ("--backend", "onxruntime", "onnxruntime"),
        ("--precision", "int4", "int8"),
    ):
        result = run_command(
            "fer-live",
            "--camera",
            str(media / "photo_obama.jpg"),
            "--model",
            "tiny",
            "--no-display",
            option,
            value,
            env_extra=_env(model_dir),
        )
        assert result.returncode == 2, result.stderr
        assert f"unknown {option[2:]} '{value}'" in result.stderr and choices in result.stderr


def test_corrupt_model_file_names_the_file(media, model_dir, tmp_path):
    import shutil

    folder = tmp_path / "broken"
    shutil.copytree(model_dir / "tiny", folder)
    data = (folder / "model.onnx").read_bytes()
    (folder / "model.onnx").write_bytes(data[: len(data) // 3])  # cut off
    result = run_command(
        "fer-live",
        "--camera",
        str(media / "photo_obama.jpg"),
        "--model",
        str(folder),
        "--backend",
        "onnxruntime",
        "--no-display",
    )
    assert result.returncode == 2
    assert "model.onnx: cannot load ONNX model" in result.stderr
    assert "Traceback" not in result.stderr
