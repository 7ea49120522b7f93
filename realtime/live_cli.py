"""`fer-live`: every face in a camera, stream or file boxed and labelled with its emotion, live."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fer_live.engines import cli_options as model_opt
from fer_live.engines.cli_support import run_cli, stderr_console
from fer_live.engines.store import DEFAULT_MODEL, RUNTIME_FLIP
from fer_live.realtime import options as opt

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command(help=__doc__)
def main(
    camera: Annotated[str, typer.Option(help="device index, video/image path or stream URL")] = "0",
    model: model_opt.Model = DEFAULT_MODEL,
    mode: model_opt.Mode = "auto",
    backend: model_opt.Backend = "auto",
    precision: model_opt.Precision = "auto",
    flip: model_opt.Flip = RUNTIME_FLIP,
    detector: opt.Detector = "mediapipe",
    min_score: opt.MinScore = 0.5,
    margin: opt.Margin = 0.2,
    detect_every: opt.DetectEvery = "auto",
    reuse_change: opt.ReuseChange = 0.0,
    smooth: Annotated[bool, typer.Option(help="smooth probabilities per face over time")] = True,
    smooth_alpha: opt.SmoothAlpha = 0.5,
    display: Annotated[bool, typer.Option(help="show a window (--no-display: headless)")] = True,
    max_frames: Annotated[int | None, typer.Option(min=1, help="stop after N frames")] = None,
    record: Annotated[Path | None, typer.Option(help="write the annotated video (mp4)")] = None,
    csv: Annotated[Path | None, typer.Option(help="write one row per face per frame")] = None,
    stall_timeout: Annotated[
        float, typer.Option(help="seconds without a frame before stopping")
    ] = 10.0,
) -> None:
    every = opt.parse_detect_every(detect_every)

    def work() -> None:
        from fer_live.realtime.live import LiveOptions, run_live

        stats = run_live(
            LiveOptions(
                camera=camera,
                model=model,
                mode=mode,
                backend=backend,
                precision=precision,
                flip=flip,
                detector=detector,
                min_score=min_score,
                margin=margin,
                detect_every=every,
                reuse_change=reuse_change,
                smooth_alpha=smooth_alpha if smooth else 1.0,
                display=display,
                max_frames=max_frames,
                record=record,
                csv=csv,
                stall_timeout=stall_timeout,
            )
        )
        stages = "  ".join(f"{k} {v:.1f}" for k, v in stats.stage_p50().items())
        stderr_console().print(
            f"{stats.frames} frames, {stats.frames_with_faces} with faces, {stats.fps:.1f} fps"
            f"{' (interrupted)' if stats.interrupted else ''}; p50 ms: {stages}"
        )

    run_cli(work, stop_signals=True)
