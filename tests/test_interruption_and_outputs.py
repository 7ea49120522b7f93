"""Issue 19, interruption and concurrency, through the real commands: SIGTERM at random moments,
two runs into one folder, outputs that would clobber each other or the input, no display."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import frame_count, read_csv, run_command, start_command

SIGTERM_RUNS = 20


def _short_clip(media: Path, target: Path, frames: int = 90) -> Path:
    """The first `frames` frames of the multi-face stage clip (a quick, still realistic input)."""
    import cv2

    capture = cv2.VideoCapture(str(media / "hamilton_clip_stage_multiface.mp4"))
    fps = capture.get(cv2.CAP_PROP_FPS)
    ok, image = capture.read()
    height, width = image.shape[:2]
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for _ in range(frames):
        if not ok:
            break
        writer.write(image)
        ok, image = capture.read()
    writer.release()
    capture.release()
    return target


def _outputs_valid_or_absent(out: Path, stem: str) -> str:
    """'none', 'complete' (all four valid) or 'partial' (some valid files); raises on any
    invalid file under a final name or any temporary file left behind."""
    names = {
        "csv": out / f"{stem}.csv",
        "mp4": out / f"{stem}.mp4",
        "json": out / f"{stem}.summary.json",
        "png": out / f"{stem}.timeline.png",
    }
    present = {kind: path for kind, path in names.items() if path.exists()}
    if "csv" in present:
        read_csv(present["csv"])  # parses
    if "json" in present:
        json.loads(present["json"].read_text())
    if "mp4" in present:
        assert frame_count(present["mp4"]) > 0, "an mp4 under its final name does not decode"
    if "png" in present:
        import cv2

        assert cv2.imread(str(present["png"])) is not None
    leftovers = list(out.glob(".*partial*")) if out.exists() else []
    assert not leftovers, leftovers
    if not present:
        return "none"
    return "complete" if len(present) == len(names) else "partial"


def test_twenty_sigterms_at_random_moments_never_hang_or_die_by_signal(
    media, model_dir, tmp_path
):
    clip = _short_clip(media, tmp_path / "clip.mp4")
    env = {"FER_MODEL_DIR": str(model_dir)}
    started = time.monotonic()
    full = run_command(
        "fer-video", str(clip), "--model", "tiny", "--quiet", "--output-dir",
        str(tmp_path / "full"), env_extra=env,
    )
    full_seconds = time.monotonic() - started
    assert full.returncode == 0, full.stderr
    rng = random.Random(19)
    outcomes = []
    for run in range(SIGTERM_RUNS):
        out = tmp_path / f"run{run}"
        process = start_command(
            "fer-video", str(clip), "--model", "tiny", "--quiet", "--output-dir", str(out),
            env_extra=env,
        )
        time.sleep(rng.uniform(0.3, full_seconds))
        process.send_signal(signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"run {run}: fer-video hung after SIGTERM")
        assert process.returncode >= 0, f"run {run}: died by signal {-process.returncode}"
        assert process.returncode in (0, 143), (run, process.returncode, stderr)
        assert "Traceback" not in stderr, stderr
        outcomes.append(_outputs_valid_or_absent(out, "clip"))
    # 'partial' is allowed: stopped before its first frame, a file has a header-only CSV, a
    # summary and a timeline, but no mp4 (a video without frames does not open).
    assert set(outcomes) <= {"none", "complete", "partial"}, outcomes


def test_two_runs_into_one_folder_leave_one_valid_csv(media, model_dir, tmp_path):
    clip = _short_clip(media, tmp_path / "clip.mp4", frames=60)
    env = {"FER_MODEL_DIR": str(model_dir)}
    out = tmp_path / "out"
    args = ("fer-video", str(clip), "--model", "tiny", "--quiet", "--output-dir", str(out))
    first, second = start_command(*args, env_extra=env), start_command(*args, env_extra=env)
    errors = [p.communicate(timeout=300)[1] for p in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), errors
    assert all("Traceback" not in e for e in errors)
    _, rows = read_csv(out / "clip.csv")
    frames = [int(r["frame"]) for r in rows]
    assert frames == sorted(frames)  # one run's rows, not two interleaved
    assert frame_count(out / "clip.mp4") == 60
    assert _outputs_valid_or_absent(out, "clip") == "complete"


def test_fer_live_refuses_one_file_for_two_outputs_or_the_input(media, model_dir, tmp_path):
    env = {"FER_MODEL_DIR": str(model_dir)}
    clip = media / "talking_head_webcam_man.mp4"
    same = tmp_path / "x.mp4"
    both = run_command(
        "fer-live", "--camera", str(clip), "--model", "tiny", "--no-display",
        "--csv", str(same), "--record", str(same), env_extra=env,
    )
    assert both.returncode == 2 and "--csv and --record both name" in both.stderr
    assert not same.exists()
    copy = tmp_path / "input.mp4"
    copy.write_bytes(clip.read_bytes())
    onto_input = run_command(
        "fer-live", "--camera", str(copy), "--model", "tiny", "--no-display",
        "--record", str(copy), env_extra=env,
    )
    assert onto_input.returncode == 2 and "is the input itself" in onto_input.stderr
    assert copy.read_bytes() == clip.read_bytes()


def test_fer_live_without_a_display_says_no_display_in_one_line(media, model_dir):
    env = {**os.environ, "FER_MODEL_DIR": str(model_dir)}
    for variable in ("DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(variable, None)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "fer-live"), "--camera",
         str(media / "talking_head_webcam_man.mp4"), "--model", "tiny"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "--no-display" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") <= 2  # the error line and its hint


def test_inputs_with_the_same_name_are_refused_before_any_work(media, model_dir, tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "clip.jpg").write_bytes((media / "photo_obama.jpg").read_bytes())
    out = tmp_path / "out"
    result = run_command(
        "fer-video", str(tmp_path / "a" / "clip.jpg"), str(tmp_path / "b" / "clip.jpg"),
        "--model", "tiny", "--quiet", "--output-dir", str(out),
        env_extra={"FER_MODEL_DIR": str(model_dir)},
    )
    assert result.returncode == 2, result.stderr
    assert "would both write clip.csv" in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_mp4_without_a_decodable_frame_leaves_no_mp4(media, model_dir, tmp_path):
    """A valid container whose frames are noise: no unopenable mp4 gets a final name."""
    clip = _short_clip(media, tmp_path / "good.mp4", frames=30)
    data = bytearray(clip.read_bytes())
    start = data.find(b"mdat") + 4
    moov = data.find(b"moov")
    end = moov if moov > start else len(data)
    data[start:end] = os.urandom(end - start)  # the frames' bytes destroyed, the index kept
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(data))
    out = tmp_path / "out"
    result = run_command(
        "fer-video", str(broken), "--model", "tiny", "--quiet", "--output-dir", str(out),
        env_extra={"FER_MODEL_DIR": str(model_dir)},
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "no decodable video frame" in result.stderr
    assert "header damaged" not in result.stderr  # FFmpeg's per-frame lines are silenced
    assert not out.exists() or not list(out.iterdir())  # no mp4, no temporary left


def test_a_photo_gives_an_annotated_image_csv_and_summary_only(media, model_dir, tmp_path):
    out = tmp_path / "out"
    result = run_command(
        "fer-video", str(media / "photo_two_people.jpg"), "--model", "tiny", "--quiet",
        "--output-dir", str(out), env_extra={"FER_MODEL_DIR": str(model_dir)},
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "warn" not in result.stderr.lower()
    assert f"outputs in {out}" in result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "photo_two_people.annotated.jpg", "photo_two_people.csv", "photo_two_people.summary.json"
    ]
    import cv2

    source = cv2.imread(str(media / "photo_two_people.jpg"))
    annotated = cv2.imread(str(out / "photo_two_people.annotated.jpg"))
    assert annotated.shape == source.shape and not np.array_equal(annotated, source)
    summary = json.loads((out / "photo_two_people.summary.json").read_text())
    assert summary["kind"] == "image" and summary["timeline_panels"] == 0
    overall = summary["overall"]
    assert overall["people"] == len(read_csv(out / "photo_two_people.csv")[1]) == 2
    assert overall["dominant"] in overall["share"]
    assert abs(sum(overall["share"].values()) - 1) < 1e-3
    again = run_command(
        "fer-video", str(media / "photo_two_people.jpg"), "--model", "tiny", "--quiet",
        "--output-dir", str(out), "--resume", env_extra={"FER_MODEL_DIR": str(model_dir)},
    )
    assert "1 skipped" in again.stderr  # --resume knows a photo's outputs
