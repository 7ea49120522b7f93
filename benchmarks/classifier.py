"""Classifier latency: model × mode × backend × precision × batch on real faces.

Warm-up calls first, then timed calls of `FerModel.run` on preprocessed batches (preprocessing is
timed separately by the pipeline benchmark). Peak memory is the process's resident high-water mark
after the row, which only grows: read it as "at most this much so far".
"""

from __future__ import annotations

import logging
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_live.benchmarks.stats import images_per_second, percentiles
from fer_live.engines.errors import FerError, InputFileError
from fer_live.engines.model import FerModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClassifierCase:
    model: str
    mode: str
    backend: str
    precision: str
    batch: int
    flip: str = "auto"


def load_faces(data: Path | None, count: int = 1000) -> tuple[np.ndarray, str]:
    """Gray 48×48 FER2013 PrivateTest faces, or random faces (with a warning) when no data."""
    if data is not None:
        images = _private_test_faces(data)[:count]
        return images, f"{data} PrivateTest[:{len(images)}]"
    log.warning("no FER2013 file: timing on random synthetic faces")
    return np.random.default_rng(0).integers(0, 256, (count, 48, 48), np.uint8), "synthetic"


def _private_test_faces(data: Path) -> np.ndarray:
    """The PrivateTest faces of a FER2013 npz (images N×48×48 uint8, usage N), or one line."""
    try:
        with np.load(data, allow_pickle=False) as npz:
            images, usage = npz["images"], npz["usage"]
    except (OSError, ValueError, KeyError, EOFError) as error:
        raise InputFileError(
            f"{data}: not a FER2013 npz with 'images' and 'usage' arrays ({error})"
        ) from error
    if images.ndim != 3 or images.dtype != np.uint8 or usage.shape != images.shape[:1]:
        raise InputFileError(f"{data}: 'images' must be N×H×W uint8 with one 'usage' per image")
    chosen = images[usage == "PrivateTest"]
    if not len(chosen):
        raise InputFileError(f"{data}: no PrivateTest rows")
    return chosen


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def time_case(case: ClassifierCase, faces: np.ndarray, warmup: int, iters: int) -> dict:
    row = {
        "kind": "classifier",
        "model": case.model,
        "mode": case.mode,
        "backend": case.backend,
        "precision": case.precision,
        "batch": case.batch,
        "flip": case.flip,
    }
    try:
        model = FerModel.open(case.model, case.mode, case.backend, case.precision, case.flip)
    except FerError as error:
        return {**row, "skipped": error.message}
    with model:
        batch = faces[np.arange(case.batch) % len(faces)]
        inputs = model.prepare(batch)
        for _ in range(warmup):
            model.run(inputs)
        samples = []
        for _ in range(iters):
            started = time.perf_counter()
            model.run(inputs)
            samples.append((time.perf_counter() - started) * 1000.0)
        stats = percentiles(samples)
        return {
            **row,
            "mode": model.kind,
            "backend": model.backend_names,
            "precision": model.precisions,
            "flip": model.flip_state,
            **stats,
            "images_per_s": images_per_second(case.batch, stats["p50_ms"]),
            "iters": iters,
            "peak_rss_mb": round(_peak_rss_mb(), 1),
        }


def paper_protocol(case: ClassifierCase, faces: np.ndarray, repeats: int) -> dict:
    """Paper's protocol: 1,000 test images in batches of 32, the whole pass repeated `repeats`
    times; mean seconds per 1,000 images (the paper: five_layer 0.62 s, Keras on a Tesla T4)."""
    row = {
        "kind": "paper",
        "model": case.model,
        "mode": case.mode,
        "backend": case.backend,
        "precision": case.precision,
        "batch": 32,
        "flip": case.flip,
    }
    try:
        model = FerModel.open(case.model, case.mode, case.backend, case.precision, case.flip)
    except FerError as error:
        return {**row, "skipped": error.message}
    images = faces[np.arange(1000) % len(faces)]
    with model:
        batches = [model.prepare(images[i : i + 32]) for i in range(0, 1000, 32)]
        model.run(batches[0])
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            for inputs in batches:
                model.run(inputs)
            seconds.append(time.perf_counter() - started)
    return {
        **row,
        "mode": model.kind,
        "backend": model.backend_names,
        "precision": model.precisions,
        "flip": model.flip_state,
        "seconds_per_1000": float(np.mean(seconds)),
        "repeats": repeats,
        "p50_ms": float(np.median(seconds)) * 1000 / (1000 / 32),
    }
