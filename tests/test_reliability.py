"""Rows of the reliability matrix, each through the real command."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

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


def _run_with_full_disk(folder: Path, size: str, *args: str, model_dir: Path):
    """Run a console script in a private mount namespace where `folder` is a tmpfs of `size`
    bytes (a real full disk for the outputs, the machine's filesystems untouched). Returns the
    CompletedProcess and the names left in `folder` afterwards (the tmpfs vanishes with it)."""
    import shutil
    import subprocess

    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux unshare to mount a small tmpfs")
    probe = ["unshare", "-Urm", "mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(folder)]
    if subprocess.run(probe, capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs in a user namespace on this machine")
    script = (
        'mount -t tmpfs -o size="$1" tmpfs "$2" || exit 99; folder="$2"; shift 2; '
        '"$@"; code=$?; echo "@@left:"; ls -A "$folder"; exit $code'
    )
    command = [str(Path(sys.executable).parent / args[0]), *args[1:]]
    result = subprocess.run(
        ["unshare", "-Urm", "sh", "-c", script, "sh", size, str(folder), *command],
        capture_output=True,
        text=True,
        env={**os.environ, **_env(model_dir)},
        timeout=600,
    )
    assert result.returncode != 99, result.stderr
    left = result.stdout.split("@@left:")[-1].split()
    return result, left


def test_disk_full_is_a_clear_error_and_leaves_nothing_half_written(media, model_dir, tmp_path):
    source = media / "talking_head_webcam_man.mp4"
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    out = tmp_path / "full"
    out.mkdir()
    # 64 KiB holds the start of the outputs but not the annotated mp4.
    video, left = _run_with_full_disk(
        out,
        "64k",
        "fer-video",
        str(source),
        "--model",
        "tiny",
        "--quiet",
        "--output-dir",
        str(out),
        model_dir=model_dir,
    )
    assert video.returncode == 1, video.stderr
    assert "No space left on device" in video.stderr or "disk full" in video.stderr
    assert "Traceback" not in video.stderr
    assert left == [], left  # no output claims to be complete, no partial file lingers
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before  # input untouched

    live, left = _run_with_full_disk(
        out,
        "8k",
        "fer-live",
        "--camera",
        str(source),
        "--model",
        "tiny",
        "--no-display",
        "--csv",
        str(out / "live.csv"),
        model_dir=model_dir,
    )
    assert live.returncode == 1, live.stderr
    assert "live.csv: cannot write (No space left on device)" in live.stderr
    assert live.stderr.count("error:") == 1 and "Traceback" not in live.stderr
    assert left == [], left


def _serve_stalling_mjpeg(jpeg: bytes, frames: int):
    """An HTTP MJPEG stream that sends `frames` frames, then keeps the connection open silently
    (a network camera that hangs). Returns (url, server)."""
    import http.server
    import socketserver
    import threading
    import time

    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            part = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
            for _ in range(frames):
                self.wfile.write(part % len(jpeg) + jpeg + b"\r\n")
                self.wfile.flush()
                time.sleep(0.05)
            release.wait(120)  # stall: connected, no more bytes

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.release = release
    return f"http://127.0.0.1:{server.server_address[1]}/stream.mjpg", server


def test_stalled_network_stream_stops_with_a_message_and_finalises(media, model_dir, tmp_path):
    import cv2

    jpeg = cv2.imencode(".jpg", cv2.imread(str(media / "photo_obama.jpg")))[1].tobytes()
    url, server = _serve_stalling_mjpeg(jpeg, frames=60)
    try:
        result = run_command(
            "fer-live",
            *("--camera", url, "--model", "tiny", "--no-display", "--stall-timeout", "3"),
            *("--csv", str(tmp_path / "stream.csv")),
            env_extra=_env(model_dir),
            timeout=120,
        )
    finally:
        server.release.set()
        server.shutdown()
    assert result.returncode == 0, result.stderr
    assert f"{url}: no frame for 3 s, stopping" in result.stderr
    assert "did not stop" not in result.stderr  # FFmpeg's read timeout let the reader end
    assert "Traceback" not in result.stderr
    columns, rows = read_csv(tmp_path / "stream.csv")  # finalised under its own name
    assert columns == CSV_COLUMNS and rows and rows[0]["label"]
    assert not list(tmp_path.glob(".*partial*"))


def test_spec_that_does_not_match_the_model_names_both(media, model_dir, tmp_path):
    import shutil

    folder = tmp_path / "mismatch"
    shutil.copytree(model_dir / "tiny", folder)
    spec = json.loads((folder / "spec.json").read_text())
    spec["input_shape"] = [64, 64, 1]  # the network takes 48×48
    (folder / "spec.json").write_text(json.dumps(spec))
    for backend in ("onnxruntime", "keras"):
        result = run_command(
            "fer-live",
            *("--camera", str(media / "photo_obama.jpg"), "--model", str(folder)),
            *("--backend", backend, "--no-display"),
        )
        assert result.returncode == 2, result.stderr
        assert "does not match spec (64, 64, 1)" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_camera_that_is_a_folder_is_one_line(model_dir, tmp_path):
    folder_result = run_command(
        "fer-live",
        "--camera",
        str(tmp_path),
        "--model",
        "tiny",
        "--no-display",
        env_extra=_env(model_dir),
    )
    assert folder_result.returncode == 2
    assert f"{tmp_path}: is a folder, not a video or image" in folder_result.stderr


def test_unreadable_camera_file_is_one_line(model_dir, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("running as root: file permissions do not stop reading")
    locked = tmp_path / "locked.mp4"
    locked.write_bytes(b"x" * 100)
    locked.chmod(0)
    result = run_command(
        "fer-live",
        "--camera",
        str(locked),
        "--model",
        "tiny",
        "--no-display",
        env_extra=_env(model_dir),
    )
    assert result.returncode == 2 and f"{locked}: permission denied" in result.stderr
