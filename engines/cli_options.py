"""Command-line options for choosing a model and how it runs (typer `Annotated` aliases), shared
by fer-live, fer-video, fer-eval, fer-convert and fer-bench."""

from __future__ import annotations

from typing import Annotated

import typer

Model = Annotated[
    str,
    typer.Option(
        help="model name or artifact folder; with --mode ensemble a comma list of members"
    ),
]
Mode = Annotated[
    str,
    typer.Option(
        help="auto (what --model is: one model, an ensemble or an OVR set) | single | "
        "ensemble | ovr"
    ),
]
Backend = Annotated[str, typer.Option(help="auto | onnxruntime | keras | tensorrt")]
Precision = Annotated[str, typer.Option(help="auto | fp32 | fp16 | int8")]
Flip = Annotated[
    str,
    typer.Option(
        help="auto (the model's own setting) | unsure (as auto, but only for faces whose two "
        "likeliest emotions are close) | on | off: also run each face's mirror image and "
        "average the two (test-time augmentation: more accurate, twice the inference work)"
    ),
]
