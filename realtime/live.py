"""fer-live's job: open source, detector and model; run the pipeline into window/recording/CSV."""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from fer_live.engines.errors import UsageError
from fer_live.engines.model import FerModel
from fer_live.engines.store import DEFAULT_MODEL, RUNTIME_FLIP
from fer_live.engines.threads import use_pipeline_threads
from fer_live.realtime.detectors import make_detector
from fer_live.realtime.pipeline import Pipeline, PipelineOptions
from fer_live.realtime.session import RunStats, run_source
from fer_live.realtime.sinks import CsvSink, VideoSink, WindowSink, finalise_or_discard
from fer_live.realtime.sources import open_source


@dataclass(frozen=True)
class LiveOptions:
    camera: str
    model: str = DEFAULT_MODEL
    mode: str = "auto"
    backend: str = "auto"
    precision: str = "auto"
    flip: str = RUNTIME_FLIP
    detector: str = "mediapipe"
    min_score: float = 0.5
    margin: float = 0.2
    detect_every: int = 0  # 0: adaptive key frames; 1: detect on every frame
    reuse_change: float = 0.0
    smooth_alpha: float = 0.5
    display: bool = True
    max_frames: int | None = None
    record: Path | None = None
    csv: Path | None = None
    stall_timeout: float = 10.0


def check_live_options(options: LiveOptions) -> None:
    """Refusals that need no camera or model: outputs that would clobber each other or the input,
    and a window on a machine without a display (Qt would abort the process)."""
    outputs = [("--csv", options.csv), ("--record", options.record)]
    named = [(flag, Path(path).resolve()) for flag, path in outputs if path is not None]
    if len(named) == 2 and named[0][1] == named[1][1]:
        raise UsageError(f"--csv and --record both name {named[0][1]}; give two different files")
    source = Path(options.camera)
    if source.is_file():
        for flag, path in named:
            if path == source.resolve():
                raise UsageError(f"{flag} {path} is the input itself; choose another file")
    if options.display and not display_available():
        raise UsageError(
            "no display to show the window on (DISPLAY and WAYLAND_DISPLAY are unset)",
            hint="run headless with --no-display (add --record FILE.mp4 or --csv FILE.csv)",
        )


def display_available() -> bool:
    """Whether an OpenCV window can open: always on Windows and macOS, on Linux only with an X or
    Wayland display (without one Qt aborts with SIGABRT, exit 134)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_live(options: LiveOptions) -> RunStats:
    check_live_options(options)
    use_pipeline_threads()
    # Cheap checks first (source, then model), so a typo fails before any output file exists.
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(
            open_source(options.camera, stall_timeout_s=options.stall_timeout)
        )
        model = stack.enter_context(
            FerModel.open(
                options.model, options.mode, options.backend, options.precision, options.flip
            )
        )
        detector = make_detector(options.detector, options.min_score)
        stack.callback(detector.close)
        pipeline = Pipeline(
            model,
            detector,
            PipelineOptions(
                margin=options.margin,
                smooth_alpha=options.smooth_alpha,
                batch_frames=1,
                detect_every=options.detect_every,
                reuse_change=options.reuse_change,
            ),
        )
        outputs, frame_outputs = [], []
        if options.csv is not None:
            csv_sink = CsvSink(options.csv, smoothed=options.smooth_alpha < 1.0)
            finalise_or_discard(stack, csv_sink)
            outputs.append(csv_sink)
        if options.record is not None:
            video = LazyVideoSink(options.record, source.fps)
            finalise_or_discard(stack, video)
            frame_outputs.append(video)
        if options.display:
            window = WindowSink()
            stack.callback(window.close)
            frame_outputs.append(window)
        return run_source(source, pipeline, outputs, frame_outputs, options.max_frames)


class LazyVideoSink:
    """A VideoSink opened at the first frame, when the frame size is known."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps = path, fps
        self.sink: VideoSink | None = None

    def write(self, image) -> None:
        if self.sink is None:
            self.sink = VideoSink(self.path, self.fps or 30.0, (image.shape[1], image.shape[0]))
        self.sink.write(image)

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()

    def discard(self) -> None:
        if self.sink is not None:
            self.sink.discard()
