"""What every fer-video executor shares: the model choice, the cluster settings, and the worker
that holds one loaded model and detector and runs the per-file job (local loop and Ray actors)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fer_live.engines.store import RUNTIME_FLIP
from fer_live.realtime.video_job import FileOutcome, VideoOptions, run_file

# (files finished, frames processed so far over all files) -> None
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class ModelChoice:
    """What every worker loads once: model, mode, backend, precision and face detector."""

    model: str
    mode: str = "auto"
    backend: str = "auto"
    precision: str = "auto"
    detector: str = "mediapipe"
    min_score: float = 0.5
    flip: str = RUNTIME_FLIP


@dataclass(frozen=True)
class ClusterOptions:
    """Ray settings: address None starts a local instance, "auto" joins a running cluster."""

    address: str | None = None
    workers: int | None = None  # None: one per CPU of the cluster, at most one per input
    gpus_per_worker: float = 0.0
    max_retries: int = 2  # per input, when the worker process running it dies


class ModelWorker:
    """Holds one loaded model and detector and runs the per-file job; local and Ray alike."""

    def __init__(self, choice: ModelChoice) -> None:
        from fer_live.engines.model import FerModel
        from fer_live.engines.threads import use_pipeline_threads
        from fer_live.realtime.detectors import make_detector

        use_pipeline_threads()
        self.model = FerModel.open(
            choice.model, choice.mode, choice.backend, choice.precision, choice.flip
        )
        self.detector = make_detector(choice.detector, choice.min_score)
        self.info = {
            "model": choice.model,
            "mode": self.model.kind,
            "backend": self.model.backend_names,
            "precision": self.model.precisions,
            "flip": self.model.flip_state,
            "detector": choice.detector,
        }

    def run(self, path: Path, options: VideoOptions, on_frame=None) -> FileOutcome:
        return run_file(path, options, self.model, self.detector, self.info, on_frame)

    def close(self) -> None:
        self.detector.close()
        self.model.close()
