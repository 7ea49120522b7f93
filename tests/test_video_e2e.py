"""fer-video end to end: outputs, schema, timestamps, stride, folders, bad files, interruption."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from tests.conftest import frame_count, read_csv, run_command, start_command, wait_until_written
from tests.test_live_e2e import CSV_COLUMNS


def _video(*args: str, model_dir: Path, **kwargs):
    return run_command(
        "fer-video",
        *args,
        "--model",
        "tiny",
        "--quiet",
        env_extra={"FER_MODEL_DIR": str(model_dir)},
        **kwargs,
    )


def test_two_videos_all_outputs(media, model_dir, tmp_path):
    talk = media / "talking_head_webcam_man.mp4"
    stage = media / "hamilton_clip_stage_multiface.mp4"
    result = _video(str(talk), str(stage), "--output-dir", str(tmp_path), model_dir=model_dir)
    assert result.returncode == 0, result.stderr
    for source in (talk, stage):
        stem = source.stem
        columns, rows = read_csv(tmp_path / f"{stem}.csv")
        assert columns == CSV_COLUMNS
        assert frame_count(tmp_path / f"{stem}.mp4") == frame_count(source)
        summary = json.loads((tmp_path / f"{stem}.summary.json").read_text())
        assert summary["frames_processed"] == frame_count(source)
        assert {
            "model",
            "mode",
            "backend",
            "precision",
            "tool_version",
            "processing_fps",
        } <= summary.keys()
        assert (tmp_path / f"{stem}.timeline.png").stat().st_size > 0
    _, rows = read_csv(tmp_path / "talking_head_webcam_man.csv")
    assert len({r["frame"] for r in rows}) >= 0.95 * 250
    assert len({r["face_id"] for r in rows}) <= 2
    timestamps = [float(r["timestamp_s"]) for r in rows]
    assert timestamps == sorted(timestamps) and abs(timestamps[30] - 1.0) < 0.05  # 30 fps


def test_stride_keeps_true_timestamps(media, model_dir, tmp_path):
    result = _video(
        str(media / "talking_head_webcam_man.mp4"),
        "--stride",
        "5",
        "--no-video",
        "--output-dir",
        str(tmp_path),
        model_dir=model_dir,
    )
    assert result.returncode == 0, result.stderr
    _, rows = read_csv(tmp_path / "talking_head_webcam_man.csv")
    frames = sorted({int(r["frame"]) for r in rows})
    assert all(f % 5 == 0 for f in frames) and len(frames) >= 45
    row = next(r for r in rows if r["frame"] == "50")
    assert abs(float(row["timestamp_s"]) - 50 / 30) < 0.05
    assert not (tmp_path / "talking_head_webcam_man.mp4").exists()


def test_folder_with_corrupt_and_unsupported_files(media, model_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(media / "photo_obama.jpg", folder / "a_photo.jpg")
    (folder / "b_empty.mp4").write_bytes(b"")
    (folder / "c_random.mp4").write_bytes(os.urandom(50_000))
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4 not a video")  # not a media suffix: ignored
    out = tmp_path / "out"
    result = _video(str(folder), "--output-dir", str(out), model_dir=model_dir)
    assert result.returncode == 1
    assert "b_empty.mp4" in result.stderr and "c_random.mp4" in result.stderr
    assert "1 of 3 inputs processed" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(read_csv(out / "a_photo.csv")[1]) == 1


def test_sigint_finalises_outputs(media, model_dir, tmp_path):
    long_input = tmp_path / "long.mp4"
    _repeat_video(media / "hamilton_clip_stage_multiface.mp4", long_input, times=6)
    process = start_command(
        "fer-video",
        str(long_input),
        *("--model", "tiny", "--quiet", "--output-dir", str(tmp_path / "out")),
        env_extra={"FER_MODEL_DIR": str(model_dir)},
    )
    wait_until_written(tmp_path / "out" / "long.csv")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    summary = json.loads((tmp_path / "out" / "long.summary.json").read_text())
    assert summary["interrupted"] is True
    processed = summary["frames_processed"]
    assert 0 < processed < 6 * 275
    _, rows = read_csv(tmp_path / "out" / "long.csv")
    assert max(int(r["frame"]) for r in rows) < processed
    assert frame_count(tmp_path / "out" / "long.mp4") == processed
    assert not list((tmp_path / "out").glob(".*partial*"))


def _repeat_video(source: Path, target: Path, times: int) -> None:
    import cv2

    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for _ in range(times):
        for image in frames:
            writer.write(image)
    writer.release()


@pytest.mark.parametrize("missing", ["nope.mp4", "nope_folder/"])
def test_missing_input_is_exit_2(model_dir, tmp_path, missing):
    result = _video(str(tmp_path / missing), model_dir=model_dir)
    assert result.returncode == 2 and "no such file or folder" in result.stderr


def test_truncated_video_is_reported_and_its_outputs_are_valid_up_to_the_cut(
    media, model_dir, tmp_path
):
    import cv2

    folder = tmp_path / "in"
    folder.mkdir()
    capture = cv2.VideoCapture(str(media / "talking_head_webcam_man.mp4"))
    whole = tmp_path / "whole.avi"  # MJPEG AVI: decodable up to a cut, unlike an mp4 (index last)
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter_fourcc(*"MJPG"), 30, (480, 480))
    while (frame := capture.read())[0]:
        writer.write(frame[1])
    writer.release()
    data = whole.read_bytes()
    (folder / "cut.avi").write_bytes(data[: len(data) // 2])
    shutil.copy(media / "photo_obama.jpg", folder / "photo.jpg")
    out = tmp_path / "out"
    result = _video(str(folder), "--output-dir", str(out), model_dir=model_dir)
    assert result.returncode == 1, result.stderr
    assert "cut.avi (decoding stopped: stream ended after" in result.stderr
    assert "truncated file?" in result.stderr and "Traceback" not in result.stderr
    assert (out / "photo.summary.json").exists()  # the other input was processed
    summary = json.loads((out / "cut.summary.json").read_text())
    processed = summary["frames_processed"]
    assert 0 < processed < 250 and "truncated" in summary["decode_error"]
    _, rows = read_csv(out / "cut.csv")
    assert rows and max(int(row["frame"]) for row in rows) < processed
    assert frame_count(out / "cut.mp4") == processed
