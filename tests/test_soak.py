"""Soak: the live pipeline on a looping video; resident memory must stay flat.

CI runs it briefly (FER_SOAK_SECONDS, default 20); by hand: FER_SOAK_SECONDS=3600 pytest -m slow.
Per-frame latency is reported, not asserted (no test asserts on wall-clock time).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from fer_live.engines.model import FerModel
from fer_live.realtime.detectors import make_detector
from fer_live.realtime.pipeline import Pipeline
from fer_live.realtime.sources import open_source
from fer_live.realtime.types import Frame


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _looping_frames(path, seconds: float):
    deadline = time.monotonic() + seconds
    index = 0
    while time.monotonic() < deadline:
        with open_source(str(path)) as source:
            for frame in source:
                if time.monotonic() >= deadline:
                    return
                yield Frame(frame.image, index, index / 30)
                index += 1


@pytest.mark.slow
def test_memory_stays_flat_on_a_looping_video(media, with_models, capsys):
    seconds = float(os.environ.get("FER_SOAK_SECONDS", "20"))
    rss, latency = [], []
    with FerModel.open("tiny", "single", "onnxruntime") as model:
        detector = make_detector("mediapipe")
        try:
            pipeline = Pipeline(model, detector)
            started = time.perf_counter()
            for count, result in enumerate(
                pipeline.run(_looping_frames(media / "talking_head_webcam_man.mp4", seconds))
            ):
                latency.append(sum(result.timings.ms.values()))
                if count % 25 == 0:
                    rss.append(_rss_mb())
        finally:
            detector.close()
    assert len(rss) >= 8, "too few samples: raise FER_SOAK_SECONDS"
    warm = rss[len(rss) // 4 :]  # after start-up allocations settle
    growth = max(warm) / warm[0] - 1
    half = len(latency) // 2
    with capsys.disabled():
        print(
            f"\nsoak: {len(latency)} frames in {time.perf_counter() - started:.0f} s, RSS "
            f"{warm[0]:.0f} -> {max(warm):.0f} MB ({growth:+.1%}), per-frame p50 "
            f"{np.median(latency[:half]):.1f} -> {np.median(latency[half:]):.1f} ms"
        )
    assert growth <= 0.10
