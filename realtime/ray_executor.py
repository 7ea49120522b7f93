"""fer-video on Ray: every input is one task on a pool of actors that each hold the model once.

Why actors rather than plain tasks: loading TensorFlow/ONNX Runtime and the model costs seconds,
so it happens once per worker (`ModelWorker.__init__`), not once per file. Fault tolerance is
Ray's: an actor whose process dies is restarted (model loaded again) and the file it was running
is retried, at most `max_retries` times; the per-file job writes every output under a temporary
name, so a killed attempt never leaves a file that looks complete. Deterministic failures (a
corrupt video) are returned as outcomes, not raised, so they are reported once and not retried.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from fer_live.engines.errors import BackendUnavailableError, ProcessingError
from fer_live.realtime.video_job import FileOutcome, VideoOptions
from fer_live.realtime.worker import ClusterOptions, ModelChoice, ModelWorker, ProgressCallback

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
PROGRESS_EVERY_S = 1.0  # how often a worker reports its frame count to the driver


def _import_ray():
    try:
        import ray
    except ImportError as error:
        raise BackendUnavailableError(
            "--executor ray needs Ray", hint="pip install 'fer-live[cluster]'"
        ) from error
    return ray


def _start(ray, cluster: ClusterOptions) -> None:
    if ray.is_initialized():
        return
    # Workers find shipped models and FER_MODEL_DIR the same way the driver does.
    env = {key: os.environ[key] for key in ("FER_MODEL_DIR",) if key in os.environ}
    try:
        ray.init(
            address=cluster.address,
            include_dashboard=False,
            log_to_driver=False,  # workers' TensorFlow/MediaPipe chatter would bury the progress
            logging_level=logging.ERROR,
            runtime_env={"env_vars": env} if env else None,
        )
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = cluster.address or "a local instance"
        raise ProcessingError(f"cannot start or join Ray at {where}: {error}") from error


def _worker_count(ray, cluster: ClusterOptions, files: int) -> int:
    if cluster.workers:
        return min(cluster.workers, files)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    return max(1, min(cpus, files))


def run_on_ray(
    files: list[Path],
    options: VideoOptions,
    choice: ModelChoice,
    cluster: ClusterOptions,
    progress: ProgressCallback,
) -> list[FileOutcome]:
    """Process `files` on Ray actors; returns one outcome per file (in completion order)."""
    ray = _import_ray()
    _start(ray, cluster)
    try:
        return _drive(ray, files, options, choice, cluster, progress)
    finally:
        ray.shutdown()


def _drive(ray, files, options, choice, cluster, progress) -> list[FileOutcome]:
    from ray.exceptions import RayActorError, RayTaskError

    from fer_live.engines.stopping import stop_on_signals

    frames_by_file: dict[str, int] = {}
    counter = _counter_class().options(num_cpus=0).remote()
    actor_class = ray.remote(_RayWorker).options(
        num_cpus=1,
        num_gpus=cluster.gpus_per_worker,
        max_restarts=cluster.max_retries,
        max_task_retries=cluster.max_retries,
    )
    actors = [
        actor_class.remote(choice, counter) for _ in range(_worker_count(ray, cluster, len(files)))
    ]
    waiting = list(files)
    running: dict = {}  # ObjectRef -> (path, actor)
    idle = list(actors)
    outcomes: list[FileOutcome] = []

    def submit() -> None:
        while waiting and idle:
            path, actor = waiting.pop(0), idle.pop(0)
            running[actor.run.remote(str(path), options)] = (path, actor)

    with stop_on_signals() as stop:
        submit()
        while running and not stop:
            ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_SECONDS)
            for ref in ready:
                path, actor = running.pop(ref)
                try:
                    outcome = ray.get(ref)
                    idle.append(actor)
                except RayActorError as error:
                    # Restarts exhausted: this actor is gone for good.
                    outcome = FileOutcome(
                        path,
                        "failed",
                        f"worker died {cluster.max_retries + 1} times ({type(error).__name__})",
                    )
                except RayTaskError as error:
                    outcome = FileOutcome(path, "failed", str(error.cause or error))
                    idle.append(actor)
                outcomes.append(outcome)
                frames_by_file[str(path)] = outcome.frames
            if not idle and not running and waiting:
                outcomes.extend(
                    FileOutcome(path, "failed", "no Ray worker left") for path in waiting
                )
                waiting.clear()
            submit()
            live = ray.get(counter.snapshot.remote())
            frames = sum({**live, **frames_by_file}.values())
            progress(len(outcomes), frames)
    if stop:
        for ref, (path, _) in running.items():
            ray.cancel(ref, force=True)
            outcomes.append(FileOutcome(path, "interrupted", "stopped before the end"))
    return outcomes


class _RayWorker:
    """Ray actor around ModelWorker: loads once, reports frame counts to the driver."""

    def __init__(self, choice: ModelChoice, counter) -> None:
        self.worker = ModelWorker(choice)
        self.counter = counter

    def run(self, path: str, options: VideoOptions) -> FileOutcome:
        last_report = [0.0]

        def on_frame(stats) -> None:
            now = time.perf_counter()
            if now - last_report[0] >= PROGRESS_EVERY_S:
                last_report[0] = now
                self.counter.report.remote(path, stats.frames)

        outcome = self.worker.run(Path(path), options, on_frame)
        self.counter.report.remote(path, outcome.frames)
        return outcome

    def pid(self) -> int:
        return os.getpid()


def _counter_class():
    """Defined on first use, so importing this module does not need Ray."""
    import ray

    @ray.remote
    class FrameCounter:
        """Frames processed per file, as last reported by the workers."""

        def __init__(self) -> None:
            self.frames: dict[str, int] = {}

        def report(self, path: str, frames: int) -> None:
            self.frames[path] = frames

        def snapshot(self) -> dict[str, int]:
            return dict(self.frames)

    return FrameCounter
