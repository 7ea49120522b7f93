"""fer-video's per-file job: (input, options, loaded model and detector) -> four outputs.

Outputs in `output_dir`: `<stem>.csv`, `<stem>.mp4` (annotated, unless `write_video` is off),
`<stem>.summary.json` and `<stem>.timeline.png`. Every file is written under a temporary name and
renamed when complete; an interrupted run finalises what it has and says so in the summary.
`run_file` is the job both executors (local loop, Ray actors) run per input.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from fer_live.engines import __version__
from fer_live.engines.artifacts import write_json_atomic
from fer_live.engines.errors import FerError, SourceError
from fer_live.engines.model import FerModel
from fer_live.realtime.destinations import (
    annotated_image_name,
    is_url,
    output_names,
    outputs_complete,
    publish,
)
from fer_live.realtime.pipeline import Pipeline, PipelineOptions
from fer_live.realtime.report import (
    TrackSummary,
    import_plotting_in_background,
    overall_summary,
    plot_timeline,
)
from fer_live.realtime.session import RunStats, run_source
from fer_live.realtime.sinks import CsvSink, ImageSink, VideoSink, finalise_or_discard
from fer_live.realtime.sources import IMAGE_SUFFIXES, ImageSource, open_source
from fer_live.realtime.types import FaceResult, Frame


@dataclass(frozen=True)
class VideoOptions:
    # None: a folder named after the input, next to it; a str with "://": a filesystem URL
    output_dir: Path | str | None = None
    stride: int = 1
    write_video: bool = True
    smooth: bool = False  # CSV/summary use smoothed probabilities only when asked
    smooth_alpha: float = 0.5
    margin: float = 0.2
    batch_frames: int = 32  # throughput, not latency: 32 beat 8 (benchmarks/MEASUREMENTS.md)
    min_track_s: float = 1.0
    detect_every: int = 0  # 0: adaptive key frames (realtime/keyframes.py); 1: every frame
    reuse_change: float = 0.0
    show_stats: bool = False  # per-stage ms on the annotated video
    title: str | None = None  # the timeline plot's title (default: the input's stem)


def output_dir_for(input_path: Path, options: VideoOptions) -> Path | str:
    if options.output_dir is None:
        return input_path.with_name(input_path.stem)
    return options.output_dir if is_url(options.output_dir) else Path(options.output_dir)


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one input: done, skipped (complete earlier), failed or interrupted."""

    path: Path
    status: str
    reason: str = ""
    frames: int = 0
    summary: dict[str, Any] | None = None
    output_location: str = ""


def already_done(input_path: Path, options: VideoOptions) -> bool:
    """--resume: an earlier run left this input's complete outputs."""
    return outputs_complete(
        output_dir_for(input_path, options),
        input_path.stem,
        options.write_video,
        image_suffix(input_path),
    )


def image_suffix(input_path: Path) -> str | None:
    """The suffix of a photo input (its annotated copy keeps the format); None for videos."""
    suffix = input_path.suffix.lower()
    return suffix if suffix in IMAGE_SUFFIXES else None


def run_file(
    input_path: Path,
    options: VideoOptions,
    model: FerModel,
    detector,
    model_info: dict[str, Any],
    on_frame=None,
) -> FileOutcome:
    """The per-file job both executors run: process, publish to a URL if asked, classify."""
    destination = output_dir_for(input_path, options)
    try:
        if is_url(destination):
            with tempfile.TemporaryDirectory(prefix="fer-video-") as staging:
                staged = replace(options, output_dir=Path(staging))
                summary = process_video(input_path, staged, model, detector, model_info, on_frame)
                if not summary["interrupted"]:
                    names = output_names(
                        input_path.stem, options.write_video, image_suffix(input_path)
                    )
                    publish(Path(staging), str(destination), names)
        else:
            summary = process_video(input_path, options, model, detector, model_info, on_frame)
    except FerError as error:
        return FileOutcome(input_path, "failed", error.message)
    frames = summary["frames_processed"]
    where = str(destination)
    if summary["interrupted"]:
        return FileOutcome(input_path, "interrupted", "", frames, summary, where)
    if summary["decode_error"]:
        reason = f"decoding stopped: {summary['decode_error']}"
        return FileOutcome(input_path, "failed", reason, frames, summary, where)
    return FileOutcome(input_path, "done", "", frames, summary, where)


class _TrackCollector:
    """Sink that keeps running per-track totals for the summary."""

    def __init__(self, use_smoothed: bool) -> None:
        self.use_smoothed = use_smoothed
        self.tracks: dict[int, TrackSummary] = {}
        # Face height as a share of the frame height, in 1% bins: a median without keeping
        # one number per face-frame (memory stays flat over long videos).
        self.height_bins = np.zeros(101, np.int64)

    def write(self, frame: Frame, faces: list[FaceResult]) -> None:
        for face in faces:
            self.tracks.setdefault(face.face_id, TrackSummary()).add(
                face, frame.timestamp_s, self.use_smoothed
            )
            share = (face.box[3] - face.box[1]) / max(frame.height, 1)
            self.height_bins[min(100, max(0, round(float(share) * 100)))] += 1

    def median_height_share(self) -> float | None:
        total = int(self.height_bins.sum())
        if total == 0:
            return None
        return float(np.searchsorted(np.cumsum(self.height_bins), (total + 1) / 2)) / 100


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
            detect_every=options.detect_every,
            reuse_change=options.reuse_change,
        ),
    )
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(open_source(str(input_path), stride=options.stride))
        csv_sink = CsvSink(out_dir / f"{stem}.csv", smoothed=options.smooth)
        finalise_or_discard(stack, csv_sink)
        collector = _TrackCollector(options.smooth)
        frame_outputs = []
        is_photo = isinstance(source, ImageSource)
        if not is_photo:
            import_plotting_in_background()
        if is_photo:
            # A photo: its annotated copy in its own format, no one-frame mp4, no timeline.
            photo = ImageSink(out_dir / annotated_image_name(stem, input_path.suffix or ".png"))
            finalise_or_discard(stack, photo)
            frame_outputs.append(photo)
        elif options.write_video:
            fps = (source.fps or 30.0) / options.stride
            first = _first_frame_size(source)
            video = VideoSink(out_dir / f"{stem}.mp4", fps, first)
            finalise_or_discard(stack, video)
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
    timeline_panels = 0
    if not is_photo:
        timeline_panels = plot_timeline(
            out_dir / f"{stem}.csv",
            out_dir / f"{stem}.timeline.png",
            options.min_track_s,
            title=options.title,
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
        "kind": "image" if is_photo else "video",
        "overall": overall_summary(collector.tracks.values(), options.min_track_s, is_photo),
        "tracks": {str(i): t.to_dict() for i, t in sorted(collector.tracks.items())},
        "timeline_panels": timeline_panels,
        "face_height_share_p50": collector.median_height_share(),
        "stage_ms_p50": {k: round(v, 3) for k, v in stats.stage_p50().items()},
        # The savings of realtime/pipeline.py: frames the detector ran on, faces the model saw.
        "detector_share": round(pipeline.keyframes.detector_share, 4),
        "model_share": round(pipeline.faces_classified / max(pipeline.faces_seen, 1), 4),
    }
    write_json_atomic(out_dir / f"{stem}.summary.json", summary)
    return summary


def _first_frame_size(source) -> tuple[int, int]:
    if isinstance(source, ImageSource):
        return source.image.shape[1], source.image.shape[0]
    import cv2

    width = int(source.capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(source.capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    if width < 1 or height < 1:
        raise SourceError(f"{source.name}: no decodable video frame (damaged stream?)")
    return width, height
