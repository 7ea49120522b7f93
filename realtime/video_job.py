"""fer-video's per-file job: (input, options, loaded model and detector) -> four outputs.

Outputs in `output_dir`: `<stem>.csv`, `<stem>.mp4` (annotated, unless `write_video` is off),
`<stem>.summary.json` and `<stem>.timeline.png`. Every file is written under a temporary name and
renamed when complete; an interrupted run finalises what it has and says so in the summary.
Kept a plain function of its arguments so a distributed executor can call it per file.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engines import __version__
from engines.artifacts import write_json_atomic
from engines.model import FerModel
from realtime.pipeline import Pipeline, PipelineOptions
from realtime.report import TrackSummary, plot_timeline
from realtime.session import RunStats, run_source
from realtime.sinks import CsvSink, VideoSink
from realtime.sources import ImageSource, open_source
from realtime.types import FaceResult, Frame


@dataclass(frozen=True)
class VideoOptions:
    output_dir: Path | None = None  # None: a folder named after the input, next to it
    stride: int = 1
    write_video: bool = True
    smooth: bool = False  # CSV/summary use smoothed probabilities only when asked
    smooth_alpha: float = 0.5
    margin: float = 0.2
    batch_frames: int = 8
    min_track_s: float = 1.0
    show_stats: bool = False  # per-stage ms on the annotated video


def output_dir_for(input_path: Path, options: VideoOptions) -> Path:
    return options.output_dir or input_path.with_name(input_path.stem)


class _TrackCollector:
    """Sink that keeps running per-track totals for the summary."""

    def __init__(self, use_smoothed: bool) -> None:
        self.use_smoothed = use_smoothed
        self.tracks: dict[int, TrackSummary] = {}

    def write(self, frame: Frame, faces: list[FaceResult]) -> None:
        for face in faces:
            self.tracks.setdefault(face.face_id, TrackSummary()).add(
                face, frame.timestamp_s, self.use_smoothed
            )


def process_video(
    input_path: Path,
    options: VideoOptions,
    model: FerModel,
    detector,
    model_info: dict[str, Any],
    on_frame=None,
) -> dict[str, Any]:
    """Process one input; returns its summary (also written as `<stem>.summary.json`)."""
    started = time.perf_counter()
    out_dir = output_dir_for(input_path, options)
    stem = input_path.stem
    pipeline = Pipeline(
        model,
        detector,
        PipelineOptions(
            margin=options.margin,
            smooth_alpha=options.smooth_alpha if options.smooth else 1.0,
            batch_frames=options.batch_frames,
        ),
    )
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(open_source(str(input_path), stride=options.stride))
        csv_sink = CsvSink(out_dir / f"{stem}.csv", smoothed=options.smooth)
        stack.callback(csv_sink.close)
        collector = _TrackCollector(options.smooth)
        frame_outputs = []
        if options.write_video:
            fps = (source.fps or 30.0) / options.stride
            first = _first_frame_size(source)
            video = VideoSink(out_dir / f"{stem}.mp4", fps, first)
            stack.callback(video.close)
            frame_outputs.append(video)
        stats: RunStats = run_source(
            source,
            pipeline,
            [csv_sink, collector],
            frame_outputs,
            show_stats=options.show_stats,
            on_frame=on_frame,
        )
        frames_total = source.frame_count
        decode_error = getattr(source, "decode_error", None)
    timeline_panels = plot_timeline(
        out_dir / f"{stem}.csv", out_dir / f"{stem}.timeline.png", options.min_track_s
    )
    elapsed = time.perf_counter() - started
    summary = {
        "input": str(input_path),
        "tool_version": __version__,
        **model_info,
        "frames_total": frames_total,
        "frames_processed": stats.frames,
        "frames_with_faces": stats.frames_with_faces,
        "faces": stats.faces,
        "stride": options.stride,
        "processing_fps": round(stats.frames / elapsed, 2) if elapsed > 0 else 0.0,
        "seconds": round(elapsed, 2),
        "interrupted": stats.interrupted,
        "decode_error": decode_error,
        "probabilities": "smoothed" if options.smooth else "raw (after the mode's combination)",
        "tracks": {str(i): t.to_dict() for i, t in sorted(collector.tracks.items())},
        "timeline_panels": timeline_panels,
        "stage_ms_p50": {k: round(v, 3) for k, v in stats.stage_p50().items()},
    }
    write_json_atomic(out_dir / f"{stem}.summary.json", summary)
    return summary


def _first_frame_size(source) -> tuple[int, int]:
    if isinstance(source, ImageSource):
        return source.image.shape[1], source.image.shape[0]
    import cv2

    width = int(source.capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(source.capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    return width, height
