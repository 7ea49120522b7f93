"""fer-video --executor ray: same outputs as local mode, retries when a worker dies, --resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import frame_count, read_csv, run_command, start_command, wait_until_written
from tests.test_video_e2e import _repeat_video, _video

pytest.importorskip("ray", reason="the [cluster] extra (Ray) is not installed")

TALK = "talking_head_webcam_man.mp4"
STAGE = "hamilton_clip_stage_multiface.mp4"


def _worker_pids() -> list[int]:
    found = subprocess.run(["pgrep", "-f", "ray::_RayWorker"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def test_ray_outputs_equal_local_and_corrupt_file_is_reported(media, model_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in (TALK, STAGE):
        shutil.copy(media / name, folder / name)
    (folder / "corrupt.mp4").write_bytes(os.urandom(40_000))

    local = _video(str(folder), "--output-dir", str(tmp_path / "local"), model_dir=model_dir)
    ray_run = _video(
        str(folder),
        "--output-dir",
        str(tmp_path / "ray"),
        "--executor",
        "ray",
        "--workers",
        "2",
        model_dir=model_dir,
    )
    for result in (local, ray_run):
        assert result.returncode == 1, result.stderr  # the corrupt file fails, the others don't
        assert "2 of 3 inputs processed" in result.stderr and "corrupt.mp4" in result.stderr
        assert "Traceback" not in result.stderr
    for name in (TALK, STAGE):
        stem = Path(name).stem
        local_csv = (tmp_path / "local" / f"{stem}.csv").read_bytes()
        assert (tmp_path / "ray" / f"{stem}.csv").read_bytes() == local_csv
        assert frame_count(tmp_path / "ray" / f"{stem}.mp4") == frame_count(media / name)
        summary = json.loads((tmp_path / "ray" / f"{stem}.summary.json").read_text())
        assert summary["frames_processed"] == frame_count(media / name)
    assert not (tmp_path / "ray" / "corrupt.csv").exists()


def test_killed_worker_is_retried_and_outputs_are_valid(media, model_dir, tmp_path):
    long_input = tmp_path / "long.mp4"
    _repeat_video(media / STAGE, long_input, times=3)
    out = tmp_path / "out"
    process = start_command(
        "fer-video",
        str(long_input),
        *("--model", "tiny", "--quiet", "--output-dir", str(out)),
        *("--executor", "ray", "--workers", "1"),
        env_extra={"FER_MODEL_DIR": str(model_dir)},
    )
    wait_until_written(out / "long.csv")
    pids = _worker_pids()
    assert pids, "no Ray worker process found while the file was being processed"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)  # the worker dies mid-file
    deadline = time.time() + 120
    while time.time() < deadline and not set(_worker_pids()) - set(pids):
        time.sleep(0.2)
    assert set(_worker_pids()) - set(pids), "Ray did not restart the killed worker"
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    assert "1 of 1 inputs processed" in stderr
    frames = frame_count(long_input)
    summary = json.loads((out / "long.summary.json").read_text())
    assert summary["frames_processed"] == frames and not summary["interrupted"]
    _, rows = read_csv(out / "long.csv")
    frame_ids = [int(row["frame"]) for row in rows]
    assert frame_ids == sorted(frame_ids)  # one clean attempt, not two runs glued together
    assert frame_count(out / "long.mp4") == frames
    assert not list(out.glob(".*partial*"))


def test_resume_processes_only_unfinished_inputs(media, model_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(media / "photo_obama.jpg", folder / "a_photo.jpg")
    _repeat_video(media / STAGE, folder / "b_long.mp4", times=4)
    out = tmp_path / "out"
    arguments = (str(folder), "--model", "tiny", "--quiet", "--no-video", "--output-dir", str(out))
    models = {"FER_MODEL_DIR": str(model_dir)}
    process = start_command("fer-video", *arguments, env_extra=models)
    wait_until_written(out / "b_long.csv")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "--resume" in stderr
    photo_summary = out / "a_photo.summary.json"
    finished_at = photo_summary.stat().st_mtime_ns

    resumed = run_command("fer-video", *arguments, "--resume", env_extra=models)
    assert resumed.returncode == 0, resumed.stderr
    assert "1 of 2 inputs processed, 1 skipped" in resumed.stderr
    assert photo_summary.stat().st_mtime_ns == finished_at  # the finished input was not redone
    summary = json.loads((out / "b_long.summary.json").read_text())
    assert not summary["interrupted"]
    assert summary["frames_processed"] == frame_count(folder / "b_long.mp4")


def test_two_node_cluster_with_a_killed_worker_matches_a_local_run(media, model_dir, tmp_path):
    """A real two-node Ray cluster on this machine (head + one more node, both on 127.0.0.1, one
    CPU each, so one worker lands on each node); one worker is SIGKILLed mid-file. The job must
    finish with the same CSVs as a local run."""
    from ray.cluster_utils import Cluster

    folder = tmp_path / "in"
    folder.mkdir()
    _repeat_video(media / STAGE, folder / "a_long.mp4", times=3)
    shutil.copy(media / STAGE, folder / "b_stage.mp4")
    local = _video(str(folder), "--no-video", "--output-dir", str(tmp_path / "local"),
                   model_dir=model_dir)
    assert local.returncode == 0, local.stderr

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        out = tmp_path / "ray"
        process = start_command(
            "fer-video", str(folder), "--model", "tiny", "--quiet", "--no-video",
            "--output-dir", str(out), "--executor", "ray", "--ray-address", cluster.address,
            "--workers", "2", env_extra={"FER_MODEL_DIR": str(model_dir)},
        )
        wait_until_written(out / "a_long.csv")
        victims = _worker_pids()
        assert len(victims) == 2, victims  # one actor per node
        os.kill(victims[0], signal.SIGKILL)
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr
        assert "2 of 2 inputs processed" in stderr
    finally:
        cluster.shutdown()
    for stem in ("a_long", "b_stage"):
        expected = (tmp_path / "local" / f"{stem}.csv").read_bytes()
        assert (out / f"{stem}.csv").read_bytes() == expected
    assert not list(out.glob(".*partial*"))
