"""`fer-video`: per-person emotions over time for recorded videos (CSV, annotated mp4, summary,
timeline plot per input)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fer_live.engines import cli_options as model_opt
from fer_live.engines.cli_support import run_cli
from fer_live.engines.stopping import STOP
from fer_live.engines.store import DEFAULT_MODEL, RUNTIME_FLIP
from fer_live.realtime import options as opt

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command(help=__doc__)
def main(
    inputs: Annotated[list[Path], typer.Argument(help="video/image files or folders of them")],
    model: model_opt.Model = DEFAULT_MODEL,
    mode: model_opt.Mode = "auto",
    backend: model_opt.Backend = "auto",
    precision: model_opt.Precision = "auto",
    flip: model_opt.Flip = RUNTIME_FLIP,
    output_dir: Annotated[
        str | None,
        typer.Option(
            help="folder or filesystem URL (s3://..., needs [cluster]) for all outputs "
            "(default: a folder beside each input)"
        ),
    ] = None,
    stride: Annotated[int, typer.Option(min=1, help="process every N-th frame")] = 1,
    video: Annotated[bool, typer.Option(help="write the annotated mp4 (--no-video: skip)")] = True,
    smooth: Annotated[bool, typer.Option(help="CSV holds smoothed probabilities")] = False,
    smooth_alpha: opt.SmoothAlpha = 0.5,
    detector: opt.Detector = "mediapipe",
    min_score: opt.MinScore = 0.5,
    margin: opt.Margin = 0.2,
    batch_frames: opt.BatchFrames = 32,
    detect_every: opt.DetectEvery = "auto",
    reuse_change: opt.ReuseChange = 0.0,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    resume: Annotated[
        bool, typer.Option(help="skip inputs whose outputs an earlier run completed")
    ] = False,
    executor: Annotated[
        str, typer.Option(help="local (this process) or ray (Ray tasks, needs [cluster])")
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(help="'auto' or host:port joins a cluster; unset starts a local one"),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Ray workers, each holding the model once")
    ] = None,
    gpus_per_worker: Annotated[float, typer.Option(min=0, help="GPUs per Ray worker")] = 0.0,
    max_retries: Annotated[
        int, typer.Option(min=0, help="Ray: retries of an input whose worker died")
    ] = 2,
) -> None:
    every = opt.parse_detect_every(detect_every)

    def work() -> None:
        from fer_live.realtime.video import ClusterOptions, ModelChoice, run_videos
        from fer_live.realtime.video_job import VideoOptions

        failures = run_videos(
            inputs,
            VideoOptions(
                output_dir=output_dir
                if output_dir is None or "://" in output_dir
                else Path(output_dir),
                stride=stride,
                write_video=video,
                smooth=smooth,
                smooth_alpha=smooth_alpha,
                margin=margin,
                batch_frames=batch_frames,
                detect_every=every,
                reuse_change=reuse_change,
            ),
            ModelChoice(model, mode, backend, precision, detector, min_score, flip),
            executor=executor,
            resume=resume,
            cluster=ClusterOptions(ray_address, workers, gpus_per_worker, max_retries),
            quiet=quiet,
        )
        if failures > 0:
            raise typer.Exit(1)
        if failures < 0 and not STOP:  # interrupted without our handlers (KeyboardInterrupt)
            raise typer.Exit(130)

    run_cli(work, stop_signals=True)
