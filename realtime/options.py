"""Command-line options shared by fer-live and fer-video (typer `Annotated` aliases)."""

from __future__ import annotations

from typing import Annotated

import typer

Model = Annotated[
    str,
    typer.Option(
        help="model name or artifact folder; with --mode ensemble a comma list of members"
    ),
]
Mode = Annotated[str, typer.Option(help="single | ensemble | ovr")]
Backend = Annotated[str, typer.Option(help="auto | onnxruntime | keras | tensorrt")]
Precision = Annotated[str, typer.Option(help="auto | fp32 | fp16 | int8")]
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
