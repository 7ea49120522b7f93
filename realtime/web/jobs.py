"""fer-serve's recorded-video jobs.

An upload is written into a new job folder under one directory (random id, fixed file names: no
name or path from the client reaches the file system), checked as a decodable video, and queued.
One worker thread runs the jobs one at a time with fer-video's per-file job (realtime/worker.py),
which writes the CSV, summary, timeline plot and annotated mp4 into the job's `out/` folder.
Queued jobs can be cancelled; a running one stops at its next frame. Finished jobs beyond the
retention limit are deleted, oldest first.
"""

from __future__ import annotations

import logging
import queue
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from fer_live.engines.errors import FerError, InputFileError
from fer_live.realtime.quiet import native_stderr_muted
from fer_live.realtime.video_job import VideoOptions
from fer_live.realtime.worker import ModelChoice, ModelWorker

log = logging.getLogger(__name__)

JOB_ID = re.compile(r"[0-9a-f]{16}")
STEM = "video"
UPLOAD_NAME = f"{STEM}.upload"  # where the API writes an upload inside its job folder
# name in the API -> file in the job's out/ folder
OUTPUTS = {
    "csv": f"{STEM}.csv",
    "summary": f"{STEM}.summary.json",
    "timeline": f"{STEM}.timeline.png",
    "video": f"{STEM}.mp4",
}
FINISHED = ("done", "failed", "cancelled")


class JobCancelled(FerError):
    """Raised from the frame callback: the job's sinks are discarded, the worker goes on."""


@dataclass
class Job:
    id: str
    name: str  # the uploaded file's name, shown in the page only
    folder: Path
    frames_total: int
    status: str = "queued"
    progress: float = 0.0
    error: str | None = None
    cancel_requested: bool = False
    created: float = field(default_factory=time.time)

    @property
    def input_path(self) -> Path:
        return self.folder / UPLOAD_NAME

    @property
    def out_dir(self) -> Path:
        return self.folder / "out"


def probe_video(path: Path, name: str) -> int:
    """Frame count of a decodable video; InputFileError for anything else (stills included)."""
    import cv2

    with native_stderr_muted():
        capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        try:
            ok = capture.isOpened() and capture.read()[0]
            moving = ok and capture.read()[0]  # FFmpeg opens a JPEG as a one-frame "video"
            frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if ok else 0
        finally:
            capture.release()
    if not ok:
        raise InputFileError(f"{name}: not a video that can be decoded (mp4, webm, mov, avi, ...)")
    if not moving or frames == 1:
        raise InputFileError(f"{name}: a still image, not a video (POST /api/image takes images)")
    return max(frames, 2)


class JobQueue:
    def __init__(self, root: Path, choice: ModelChoice, keep: int) -> None:
        self.root, self.keep = root, keep
        root.mkdir(parents=True, exist_ok=True)
        # Jobs live in memory: folders a previous server left behind are not served again.
        for stale in root.iterdir():
            if stale.is_dir() and JOB_ID.fullmatch(stale.name):
                shutil.rmtree(stale, ignore_errors=True)
        self.worker = ModelWorker(choice)
        self._jobs: dict[str, Job] = {}
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="fer-serve-jobs", daemon=True)
        self._thread.start()

    def new_folder(self) -> tuple[str, Path]:
        job_id = secrets.token_hex(8)
        folder = self.root / job_id
        folder.mkdir()
        return job_id, folder

    def submit(self, job_id: str, folder: Path, name: str) -> Job:
        """Queue the upload already written to the folder; InputFileError (folder removed) if it
        is no video."""
        job = Job(job_id, name, folder, 0)
        try:
            job.frames_total = probe_video(job.input_path, name)
        except FerError:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        with self._lock:
            self._jobs[job_id] = job
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> Job | None:
        if not JOB_ID.fullmatch(job_id):
            return None
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda job: job.created)

    def queue_position(self, job: Job) -> int | None:
        """1 for the next job to run; None unless queued."""
        if job.status != "queued":
            return None
        queued = [j for j in self.jobs() if j.status == "queued"]
        return queued.index(job) + 1 if job in queued else None

    def cancel(self, job: Job) -> None:
        job.cancel_requested = True
        if job.status == "queued":
            job.status = "cancelled"

    def output(self, job: Job, name: str) -> Path | None:
        if job.status != "done" or name not in OUTPUTS:
            return None
        path = job.out_dir / OUTPUTS[name]
        return path if path.is_file() else None

    def close(self) -> None:
        for job in self.jobs():
            if job.status in ("queued", "running"):
                self.cancel(job)
        self._queue.put(None)
        self._thread.join(timeout=30)
        self.worker.close()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            if job.cancel_requested:
                job.status = "cancelled"
                continue
            job.status = "running"
            try:
                self._process(job)
            except Exception as error:  # the queue goes on; the page shows the reason
                log.exception("job %s failed", job.id)
                job.status, job.error = "failed", f"server error: {error}"
            self._prune()

    def _process(self, job: Job) -> None:
        def on_frame(stats) -> None:
            if job.cancel_requested:
                raise JobCancelled("cancelled")
            job.progress = min(stats.frames / job.frames_total, 0.99)

        # Rename to the fixed stem fer-video names its outputs after (video.csv, ...).
        source = job.input_path.rename(job.folder / f"{STEM}.input")
        # The plot is titled with the upload's own name, not the fixed stem.
        options = VideoOptions(output_dir=job.out_dir, title=job.name)
        outcome = self.worker.run(source, options, on_frame)
        source.unlink(missing_ok=True)  # the outputs are what is kept
        if job.cancel_requested:
            job.status = "cancelled"
        elif outcome.status == "done":
            job.status, job.progress = "done", 1.0
        else:
            job.status, job.error = "failed", outcome.reason or outcome.status

    def _prune(self) -> None:
        finished = [job for job in self.jobs() if job.status in FINISHED]
        for job in finished[: max(len(finished) - self.keep, 0)]:
            shutil.rmtree(job.folder, ignore_errors=True)
            with self._lock:
                self._jobs.pop(job.id, None)
