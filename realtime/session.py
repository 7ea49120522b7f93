"""Running the pipeline over one source into sinks, with clean stops.

Used by fer-live (window, recording, CSV) and, per file, by fer-video. Ctrl-C and SIGTERM stop the
loop between frames (engines/stopping.py); every sink is then closed, so recordings and CSVs are
finalised and valid.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from fer_live.engines.stopping import stop_on_signals
from fer_live.realtime.overlay import annotate
from fer_live.realtime.pipeline import Pipeline
from fer_live.realtime.sources import Source
from fer_live.realtime.types import FrameResult


@dataclass
class RunStats:
    frames: int = 0
    frames_with_faces: int = 0
    faces: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    stage_ms: dict[str, list[float]] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def add(self, result: FrameResult) -> None:
        self.frames += 1
        self.faces += len(result.faces)
        self.frames_with_faces += bool(result.faces)
        for stage, ms in result.timings.ms.items():
            self.stage_ms.setdefault(stage, []).append(ms)

    def stage_p50(self) -> dict[str, float]:
        return {stage: float(np.median(v)) for stage, v in self.stage_ms.items()}


def run_source(
    source: Source,
    pipeline: Pipeline,
    outputs: list,  # objects with write(frame, faces) (CSV) -- called with results
    frame_outputs: list,  # objects with write(image) -> bool | None (video, window)
    max_frames: int | None = None,
    show_stats: bool = True,
    on_frame: Callable[[RunStats], None] | None = None,
) -> RunStats:
    """Process `source` until it ends, `max_frames`, a window closes or a stop signal."""
    stats = RunStats()
    started = time.perf_counter()
    drawn_here = any(not hasattr(sink, "write_rendered") for sink in frame_outputs)
    try:
        with stop_on_signals() as stop:
            for result in pipeline.run(_limited(source, max_frames, stop)):
                draw_started = time.perf_counter()
                fps = stats.frames / max(time.perf_counter() - started, 1e-9)
                render = partial(
                    _annotated_copy,
                    faces=result.faces,
                    timings=result.timings.copy() if show_stats else None,
                    fps=fps if show_stats else None,
                )
                # Drawn here only for an output that shows it now (a window); the mp4 sink
                # draws on its encoding thread.
                image = render(result.frame.image) if drawn_here else None
                result.timings.add("draw", (time.perf_counter() - draw_started) * 1000)
                write_started = time.perf_counter()
                for sink in outputs:
                    sink.write(result.frame, result.faces)
                keep_going = True
                for sink in frame_outputs:
                    if hasattr(sink, "write_rendered"):
                        sink.write_rendered(result.frame.image, render)
                    else:
                        keep_going = sink.write(image) is not False and keep_going
                result.timings.add("write", (time.perf_counter() - write_started) * 1000)
                stats.add(result)
                if on_frame is not None:
                    on_frame(stats)
                if not keep_going:
                    break
            stats.interrupted = bool(stop)
    except KeyboardInterrupt:  # a library caller's own SIGINT handling
        stats.interrupted = True
    finally:
        stats.seconds = time.perf_counter() - started
    return stats


def _annotated_copy(image: np.ndarray, faces, timings, fps) -> np.ndarray:
    return annotate(image.copy(), faces, timings, fps)


def _limited(source: Source, max_frames: int | None, stop):
    """Frames of `source` until it ends, `max_frames`, or a stop signal (checked per frame)."""
    for count, frame in enumerate(source):
        if stop or (max_frames is not None and count >= max_frames):
            return
        yield frame
