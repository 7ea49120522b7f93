"""Command-line options of the video pipeline shared by fer-live and fer-video (model options are
in engines.cli_options)."""

from __future__ import annotations

import math
from typing import Annotated

import typer


def in_range(low: float, high: float, low_inclusive: bool = True):
    """A typer callback refusing NaN and values outside [low, high] (or (low, high]): click's
    own FloatRange lets NaN through, since every comparison with NaN is false."""

    def check(value: float | None) -> float | None:
        if value is None:
            return value
        too_low = value < low if low_inclusive else value <= low
        if math.isnan(value) or too_low or value > high:
            bracket = "[" if low_inclusive else "("
            raise typer.BadParameter(f"{value:g} is not in {bracket}{low:g}, {high:g}]")
        return value

    return check


# The most frames whose faces share one inference call. Frames are held until their batch is
# classified, so this bounds memory (a 1080p frame is 6 MB); beyond ~32 nothing gets faster.
MAX_BATCH_FRAMES = 256

Detector = Annotated[
    str, typer.Option(help="mediapipe (BlazeFace short range) | mediapipe-full (wide shots) | haar")
]
MinScore = Annotated[
    float, typer.Option(help="minimum face detection score, 0..1", callback=in_range(0, 1))
]
Margin = Annotated[
    float,
    typer.Option(
        help="crop margin around each face, share of its side, 0..1", callback=in_range(0, 1)
    ),
]
SmoothAlpha = Annotated[
    float,
    typer.Option(
        help="weight of the newest frame in the per-face moving average, in (0, 1]; 1 = no "
        "smoothing",
        callback=in_range(0, 1, low_inclusive=False),
    ),
]
BatchFrames = Annotated[
    int,
    typer.Option(
        min=1,
        max=MAX_BATCH_FRAMES,
        help=f"frames whose faces share one inference call (1..{MAX_BATCH_FRAMES})",
    ),
]


def parse_detect_every(value: str | None) -> int | None:
    """ "auto" -> 0 (adaptive key frames); "N" -> N >= 1 (1: detect on every frame)."""
    if value is None or value == "auto":
        return 0 if value == "auto" else value
    try:
        every = int(value)
    except ValueError:
        every = 0
    if every < 1 or str(every) != value.strip():
        raise typer.BadParameter(f"{value!r} is not 'auto' or a whole number >= 1")
    return every


DetectEvery = Annotated[
    str,
    typer.Option(
        help="auto (face detector on key frames, boxes tracked between them) or N: detect on "
        "every N-th frame (1 = every frame, no tracking shortcuts)",
    ),
]
ReuseChange = Annotated[
    float,
    typer.Option(
        help="a face whose crop changed less than this (mean gray difference, 0..1) since it "
        "was last classified keeps those probabilities for up to 0.5 s; 0 = classify every face "
        "on every frame (default: labels then match per-frame processing)",
        callback=in_range(0, 1),
    ),
]
