"""fer-video over many inputs: expand folders, skip finished inputs on --resume, run the per-file
job on an executor (this process, or Ray actors), report done / skipped / failed files."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from fer_live.engines.errors import InputFileError, UnknownNameError, UsageError
from fer_live.engines.stopping import STOP
from fer_live.realtime.sources import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from fer_live.realtime.video_job import FileOutcome, VideoOptions, already_done, output_dir_for
from fer_live.realtime.worker import ClusterOptions, ModelChoice, ModelWorker, ProgressCallback

log = logging.getLogger(__name__)

EXECUTORS = ("local", "ray")


def refuse_shared_outputs(files: list[Path], options: VideoOptions) -> None:
    """Two inputs whose outputs would get the same names (`a/clip.mp4` and `b/clip.mp4` with one
    --output-dir, or `clip.mp4` and `clip.avi` side by side): the second would silently replace
    the first's, so refuse before any work."""
    seen: dict[tuple[str, str], Path] = {}
    for path in files:
        key = (str(output_dir_for(path, options)), path.stem)
        if key in seen and seen[key].resolve() != path.resolve():
            raise UsageError(
                f"{seen[key]} and {path} would both write {key[1]}.csv (and its other outputs) "
                f"in {key[0]}",
                hint="rename one, or run them with different --output-dir",
            )
        seen[key] = path


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


def run_locally(
    files: list[Path], options: VideoOptions, choice: ModelChoice, progress: ProgressCallback
) -> list[FileOutcome]:
    """One model in this process, inputs one after another; stops at an interruption."""
    outcomes: list[FileOutcome] = []
    frames_before = 0
    worker = ModelWorker(choice)
    try:
        for path in files:
            if STOP:  # a stop during start-up or between inputs: start nothing more
                break
            outcome = worker.run(
                path,
                options,
                lambda stats, base=frames_before: progress(len(outcomes), base + stats.frames),
            )
            outcomes.append(outcome)
            frames_before += outcome.frames
            progress(len(outcomes), frames_before)
            if outcome.status == "interrupted":
                break
    finally:
        worker.close()
    return outcomes


def run_videos(
    inputs: list[Path],
    options: VideoOptions,
    choice: ModelChoice,
    *,
    executor: str = "local",
    resume: bool = False,
    cluster: ClusterOptions | None = None,
    quiet: bool = False,
) -> int:
    """Process every input; returns the number of failed files (-1 when interrupted)."""
    from fer_live.engines.cli_support import stderr_console

    if executor not in EXECUTORS:
        raise UnknownNameError("executor", executor, EXECUTORS)
    console = stderr_console()
    files = list(dict.fromkeys(expand_inputs(inputs)))  # a file named twice runs once
    refuse_shared_outputs(files, options)
    skipped = [path for path in files if resume and already_done(path, options)]
    todo = [path for path in files if path not in skipped]
    started = time.perf_counter()
    expected_frames = sum(frames_expected(path, options.stride) for path in todo)
    with _progress_display(console, len(todo), expected_frames, quiet) as progress:
        if not todo:
            outcomes = []
        elif executor == "ray":
            from fer_live.realtime.ray_executor import run_on_ray

            outcomes = run_on_ray(todo, options, choice, cluster or ClusterOptions(), progress)
        else:
            outcomes = run_locally(todo, options, choice, progress)
    skipped_outcomes = [
        FileOutcome(path, "skipped", "complete from an earlier run") for path in skipped
    ]
    return _report(console, skipped_outcomes + outcomes, len(files), time.perf_counter() - started)


def frames_expected(path: Path, stride: int) -> int:
    """Frames a file will give (1 for a photo; the container's count for a video, 0 unknown),
    read from the header only: progress can then show percent and an ETA in frames."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return 1
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if capture.isOpened() else 0
    finally:
        capture.release()
    return -(-max(count, 0) // max(stride, 1))


class _progress_display:
    """One aggregated progress line over all inputs, in frames: bar, percent, files done /
    total, frames per second and ETA (a file count alone sat at 0/1 for a whole video)."""

    def __init__(self, console, total_files: int, total_frames: int, quiet: bool) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            BarColumn(),
            TaskProgressColumn(),
            TextColumn(
                f"{{task.completed:.0f}}/{total_frames or '?'} frames, "
                f"files {{task.fields[files]}}/{total_files}, {{task.fields[fps]:.1f}} fps"
            ),
            TimeRemainingColumn(),
            console=console,
            disable=quiet,
        )
        # Unknown counts (0: some containers lack one) leave the total open: no false ETA.
        self.task = self.progress.add_task("frames", total=total_frames or None, files=0, fps=0.0)
        self.started = time.perf_counter()

    def __call__(self, files_done: int, frames: int) -> None:
        fps = frames / max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(self.task, completed=frames, files=files_done, fps=fps)

    def __enter__(self) -> _progress_display:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()


# BlazeFace short range (the default detector) sees the frame at 128×128 and is made for faces
# within about 2 m. On the stage clip its faces fill a median 28% of the frame height and it finds
# 2 of about 4 faces, where the full-range model finds all (issue 19); on the talking head, 57%.
WIDE_SHOT_SHARE = 0.35


def wide_shot_hint(outcome: FileOutcome) -> str | None:
    """A one-line hint when the default detector ran on a wide shot (small faces)."""
    summary = outcome.summary or {}
    share = summary.get("face_height_share_p50")
    if summary.get("detector") != "mediapipe" or share is None or share >= WIDE_SHOT_SHARE:
        return None
    return (
        f"hint: faces in {outcome.path.name} fill a median {share:.0%} of the frame height (a "
        "wide shot); --detector mediapipe-full also finds smaller faces"
    )


def _report(console, outcomes: list[FileOutcome], total: int, seconds: float) -> int:
    """The final summary; returns the failure count, or -1 when the run was interrupted."""
    by_status: dict[str, list[FileOutcome]] = {}
    for outcome in outcomes:
        by_status.setdefault(outcome.status, []).append(outcome)
    done, skipped = by_status.get("done", []), by_status.get("skipped", [])
    failed = by_status.get("failed", [])
    frames = sum(outcome.frames for outcome in outcomes)
    console.print(
        f"{len(done)} of {total} inputs processed, {len(skipped)} skipped (complete earlier), "
        f"{len(failed)} failed; {frames} frames in {seconds:.1f} s "
        f"({frames / max(seconds, 1e-9):.1f} frames/s)"
    )
    locations = sorted({outcome.output_location for outcome in done if outcome.output_location})
    for location in locations:
        console.print(f"outputs in {location}")
    for outcome in done:
        hint = wide_shot_hint(outcome)
        if hint:
            console.print(hint)
    for outcome in failed:
        console.print(f"failed: {outcome.path} ({outcome.reason})")
    interrupted = by_status.get("interrupted", [])
    if interrupted or STOP:
        finished = {outcome.path for outcome in outcomes}
        names = ", ".join(outcome.path.name for outcome in interrupted)
        cut = f"outputs of {names} finalised up to the last processed frame; " if names else ""
        console.print(
            f"interrupted: {cut}{total - len(finished)} inputs not started. "
            "Run again with --resume to finish the rest."
        )
        return -1
    return len(failed)
