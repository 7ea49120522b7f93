from __future__ import annotations

import json

import pytest

from fer_live.benchmarks.stats import compare_rows, images_per_second, percentiles
from tests.conftest import run_command


def test_percentiles_on_known_timings():
    stats = percentiles(list(range(1, 101)))  # 1..100 ms
    assert stats["p50_ms"] == pytest.approx(50.5)
    assert stats["p95_ms"] == pytest.approx(95.05)
    assert stats["p99_ms"] == pytest.approx(99.01)
    assert stats["mean_ms"] == pytest.approx(50.5)
    assert images_per_second(32, 16.0) == 2000.0
    with pytest.raises(ValueError):
        percentiles([])


def test_compare_gives_speedups_for_matching_rows():
    old = [
        {
            "kind": "classifier",
            "model": "m",
            "backend": "b",
            "precision": "fp32",
            "batch": 1,
            "p50_ms": 10.0,
        }
    ]
    new = [{**old[0], "p50_ms": 5.0}, {**old[0], "batch": 8, "p50_ms": 1.0}]
    compared = compare_rows(old, new)
    assert len(compared) == 1 and compared[0]["speedup"] == 2.0


def test_fer_bench_json_schema_and_compare(fer2013, model_dir, tmp_path):
    out = tmp_path / "b.json"
    env = {"FER_MODEL_DIR": str(model_dir)}
    args = [
        "fer-bench",
        "--model",
        "tiny",
        "--backend",
        "onnxruntime,keras",
        "--precision",
        "fp32",
        "--batch",
        "1,4",
        "--warmup",
        "1",
        "--iters",
        "3",
        "--data",
        str(fer2013),
    ]
    result = run_command(*args, "--json", str(out), env_extra=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert {"date", "cpu", "versions"} <= report["header"].keys()
    rows = report["rows"]
    assert len(rows) == 4
    for row in rows:
        assert {
            "model",
            "mode",
            "backend",
            "precision",
            "batch",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "images_per_s",
        } <= row.keys()
        assert row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
    again = run_command(*args, "--compare", str(out), env_extra=env)
    assert again.returncode == 0 and "speedup" in again.stdout


def test_fer_bench_pipeline_rows(media, model_dir, tmp_path):
    out = tmp_path / "p.json"
    result = run_command(
        "fer-bench",
        "--video",
        str(media / "photo_two_people.jpg"),
        "--model",
        "tiny",
        "--precision",
        "fp32",
        "--json",
        str(out),
        env_extra={"FER_MODEL_DIR": str(model_dir)},
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())["rows"]
    stages = {(r["variant"], r["stage"]) for r in rows}
    assert {
        ("with_video", "detect"),
        ("with_video", "infer"),
        ("with_video", "end_to_end"),
        ("no_video", "end_to_end"),
    } <= stages
    assert all(r["fps"] > 0 for r in rows if r["stage"] == "end_to_end")


def test_throughput_clips_have_the_asked_length_and_size(media, tmp_path):
    import cv2

    from fer_live.benchmarks.video_throughput import make_clip

    sources = [media / "talking_head_webcam_man.mp4", media / "hamilton_clip_stage_multiface.mp4"]
    clip = make_clip(sources, tmp_path / "c.mp4", seconds=12, size=(640, 480))
    capture = cv2.VideoCapture(str(clip))
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    size = (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    capture.release()
    assert frames == 360 and size == (640, 480)  # 12 s at the first clip's 30 fps, both cycled
    assert not list(tmp_path.glob(".*partial*"))


def test_fer_package_baseline_feeds_fers_input_range():
    import numpy as np

    from fer_live.benchmarks.fer_package_baseline import fer_model_input

    faces = np.stack([np.zeros((48, 48), np.uint8), np.full((48, 48), 255, np.uint8)])
    pixels = fer_model_input(faces)
    assert pixels.shape == (2, 64, 64, 1) and pixels.dtype == np.float32
    assert pixels[0].max() == -1.0 and pixels[1].min() == 1.0
