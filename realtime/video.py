"""fer-video over many inputs: expand folders, load the model once, run the per-file job, report
each failed file and go on with the others."""

from __future__ import annotations

import logging
from pathlib import Path

from engines.errors import FerError, InputFileError
from engines.model import FerModel
from realtime.detectors import make_detector
from realtime.sources import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from realtime.video_job import VideoOptions, process_video

log = logging.getLogger(__name__)


def expand_inputs(inputs: list[Path]) -> list[Path]:
    """Files as given; folders replaced by the videos and images inside them (sorted)."""
    files: list[Path] = []
    for path in inputs:
        if path.is_dir():
            inside = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES | IMAGE_SUFFIXES
            )
            if not inside:
                raise InputFileError(f"{path}: folder holds no video or image files")
            files.extend(inside)
        elif not path.exists():
            raise InputFileError(f"{path}: no such file or folder")
        else:
            files.append(path)
    return files


def run_videos(
    inputs: list[Path],
    options: VideoOptions,
    *,
    model: str,
    mode: str,
    backend: str,
    precision: str,
    detector: str,
    min_score: float,
    quiet: bool,
) -> int:
    """Process every input; returns the number of failed files (-1 when interrupted)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    files = expand_inputs(inputs)
    failed: list[tuple[Path, str]] = []
    with FerModel.open(model, mode, backend, precision) as fer_model:
        face_detector = make_detector(detector, min_score)
        info = {
            "model": model,
            "mode": mode,
            "backend": fer_model.backend_names,
            "precision": fer_model.precisions,
            "detector": detector,
        }
        try:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[fps]:.1f} fps"),
                TimeRemainingColumn(),
                console=console,
                disable=quiet,
            ) as progress:
                for path in files:
                    task = progress.add_task(path.name, total=None, fps=0.0)

                    def on_frame(stats, task=task):
                        progress.update(task, completed=stats.frames, fps=stats.fps)

                    try:
                        summary = process_video(
                            path, options, fer_model, face_detector, info, on_frame
                        )
                    except FerError as error:
                        failed.append((path, error.message))
                        console.print(f"error: {error.message} (skipped)")
                        continue
                    progress.update(
                        task,
                        total=summary["frames_processed"],
                        completed=summary["frames_processed"],
                    )
                    if summary["interrupted"]:
                        console.print(
                            f"interrupted: outputs of {path.name} finalised up to "
                            f"frame {summary['frames_processed']}"
                        )
                        return -1
                    if summary["decode_error"]:
                        failed.append((path, f"decoding stopped: {summary['decode_error']}"))
        finally:
            face_detector.close()
    done = len(files) - len(failed)
    console.print(
        f"{done} of {len(files)} inputs processed"
        + (f"; failed: {', '.join(f'{p.name} ({why})' for p, why in failed)}" if failed else "")
    )
    return len(failed)
