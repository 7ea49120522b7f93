"""Command-line options of the video pipeline shared by fer-live and fer-video (model options are
in engines.cli_options)."""

from __future__ import annotations

from typing import Annotated

import typer

Detector = Annotated[
    str, typer.Option(help="mediapipe (BlazeFace short range) | mediapipe-full (wide shots) | haar")
]
MinScore = Annotated[float, typer.Option(help="minimum face detection score")]
Margin = Annotated[float, typer.Option(help="crop margin around each face, share of its side")]
SmoothAlpha = Annotated[
    float,
    typer.Option(
        help="weight of the newest frame in the per-face moving average (1 = no smoothing)"
    ),
]
