"""fer-serve's HTTP API, live WebSocket and pages (FastAPI).

    POST /api/image          multipart `file` (an image) -> {"faces": [{box, label, confidence,
                             probabilities}]}
    POST /api/jobs           multipart `file` (a video) -> {"id": ...} (201)
    GET  /api/jobs           every job, oldest first
    GET  /api/jobs/{id}      {"status": queued|running|done|failed|cancelled, "progress": 0..1,
                             "outputs": {name: url}, ...}
    POST /api/jobs/{id}/cancel
    GET  /api/jobs/{id}/files/{csv|summary|timeline|video}
    GET  /api/models         names that --model and the live page's selector take
    WS   /ws/live            binary frames in, JSON faces out (realtime/web/live.py)
    GET  /, /recordings, /report/{id}   the pages; /docs and /openapi.json from FastAPI

Errors are JSON {"error": "..."} with a 4xx status. With a token set, every request needs it:
`?token=`, an `Authorization: Bearer` header, or the cookie the pages set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from fer_live.engines import __version__
from fer_live.engines.errors import FerError
from fer_live.engines.store import DEFAULT_MODEL
from fer_live.engines.threads import use_pipeline_threads
from fer_live.realtime.detectors import make_detector
from fer_live.realtime.still import face_fields, faces_in_image
from fer_live.realtime.web.jobs import OUTPUTS, UPLOAD_NAME, JobQueue
from fer_live.realtime.web.live import LiveConnection
from fer_live.realtime.web.models import ModelCache
from fer_live.realtime.worker import ModelChoice

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
PAGES = {"/": "live.html", "/recordings": "recordings.html"}
COPY_CHUNK = 1024 * 1024
MAX_IMAGE_BYTES = 20 * 1024 * 1024
TOKEN_COOKIE = "fer_token"


@dataclass(frozen=True)
class ServeSettings:
    model: str = DEFAULT_MODEL
    mode: str = "auto"
    detector: str = "mediapipe"
    token: str | None = None  # None: no token needed (loopback only, enforced by the command)
    jobs_dir: Path = Path("fer-serve-jobs")
    max_upload_mb: float = 500.0
    keep_jobs: int = 20


class ApiError(HTTPException):
    """A 4xx answer with a one-line reason, sent as {"error": reason}."""


def create_app(settings: ServeSettings) -> FastAPI:
    use_pipeline_threads()
    models = ModelCache(settings.model, settings.mode)
    jobs = JobQueue(
        settings.jobs_dir,
        ModelChoice(settings.model, settings.mode, detector=settings.detector),
        settings.keep_jobs,
    )
    image_detector = make_detector(settings.detector)
    image_lock = asyncio.Lock()  # the detector keeps state: one image at a time
    max_upload = int(settings.max_upload_mb * 1024 * 1024)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        await run_in_threadpool(jobs.close)  # a running job stops at its next frame
        image_detector.close()
        models.close()

    app = FastAPI(
        title="fer-serve",
        version=__version__,
        summary="fer-live in a web browser",
        lifespan=lifespan,
    )
    app.state.jobs, app.state.models = jobs, models

    def authorised(token: str | None) -> bool:
        return settings.token is None or (
            token is not None and secrets.compare_digest(token, settings.token)
        )

    def request_token(request: Request | WebSocket) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)

    @app.middleware("http")
    async def check_token(request: Request, call_next):
        if not authorised(request_token(request)):
            return JSONResponse({"error": "missing or wrong token (?token=...)"}, status_code=401)
        response = await call_next(request)
        if settings.token and request.query_params.get("token"):
            # The page's images, downloads and script loads then carry the token by themselves.
            response.set_cookie(TOKEN_COOKIE, settings.token, httponly=True, samesite="strict")
        return response

    @app.exception_handler(HTTPException)
    async def http_error(_request, error: HTTPException):
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request, error: RequestValidationError):
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"error": f"{where}: {first.get('msg', 'bad request')}"}, 422)

    @app.exception_handler(FerError)
    async def fer_error(_request, error: FerError):
        return JSONResponse({"error": error.message}, status_code=400)

    async def read_upload(request: Request, limit: int) -> UploadFile:
        """The multipart `file` field, refused early when the request says it is too large."""
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
            raise ApiError(413, f"upload larger than the limit of {limit / 1024**2:.0f} MB")
        try:
            form = await request.form(max_files=1, max_fields=4)
        except Exception as error:  # a body that is no multipart form
            raise ApiError(
                400, f"expected a multipart form with a `file` field ({error})"
            ) from None
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(400, "expected a multipart form with a `file` field")
        return upload

    async def copy_upload(upload: UploadFile, target: Path, limit: int) -> None:
        written = 0
        with target.open("wb") as out:
            while chunk := await upload.read(COPY_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise ApiError(413, f"upload larger than the limit of {limit / 1024**2:.0f} MB")
                out.write(chunk)
        if written == 0:
            raise ApiError(400, "the uploaded file is empty")

    @app.post("/api/image")
    async def api_image(request: Request) -> dict:
        import cv2

        upload = await read_upload(request, MAX_IMAGE_BYTES)
        data = await upload.read(MAX_IMAGE_BYTES + 1)
        if len(data) > MAX_IMAGE_BYTES:
            raise ApiError(413, f"image larger than {MAX_IMAGE_BYTES // 1024**2} MB")
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
        if image is None:
            raise ApiError(400, f"{upload.filename or 'file'}: not an image (JPEG, PNG, ...)")
        model = models.get(*models.default)
        async with image_lock:
            boxes, probs = await run_in_threadpool(faces_in_image, model, image_detector, image)
        faces = [
            {**face_fields(box, row, digits=4), "score": round(float(score), 4)}
            for box, score, row in zip(boxes.xyxy, boxes.scores, probs, strict=True)
        ]
        return {"faces": faces}

    def job_json(job) -> dict:
        outputs = {}
        if job.status == "done":
            outputs = {
                name: f"/api/jobs/{job.id}/files/{name}"
                for name in OUTPUTS
                if jobs.output(job, name) is not None
            }
        return {
            "id": job.id,
            "name": job.name,
            "status": job.status,
            "progress": round(job.progress, 4),
            "queue_position": jobs.queue_position(job),
            "error": job.error,
            "outputs": outputs,
        }

    def known_job(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            raise ApiError(
                404, f"no job {job_id[:40]!r} (finished jobs are kept {settings.keep_jobs})"
            )
        return job

    @app.post("/api/jobs", status_code=201)
    async def api_new_job(request: Request) -> dict:
        upload = await read_upload(request, max_upload)
        job_id, folder = jobs.new_folder()
        name = Path(upload.filename or "upload").name[:200]
        try:
            await copy_upload(upload, folder / UPLOAD_NAME, max_upload)
            job = await run_in_threadpool(jobs.submit, job_id, folder, name)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return {"id": job.id}

    @app.get("/api/jobs")
    def api_jobs() -> dict:
        return {"jobs": [job_json(job) for job in jobs.jobs()]}

    @app.get("/api/jobs/{job_id}")
    def api_job(job_id: str) -> dict:
        return job_json(known_job(job_id))

    @app.post("/api/jobs/{job_id}/cancel")
    def api_cancel(job_id: str) -> dict:
        job = known_job(job_id)
        if job.status in ("done", "failed"):
            raise ApiError(409, f"job {job_id} already {job.status}")
        jobs.cancel(job)
        return job_json(job)

    @app.get("/api/jobs/{job_id}/files/{name}")
    def api_job_file(job_id: str, name: str):
        job = known_job(job_id)
        path = jobs.output(job, name)
        if path is None:
            raise ApiError(404, f"job {job_id} has no output {name[:40]!r} (yet)")
        return FileResponse(path, filename=f"{Path(job.name).stem}.{path.name}")

    @app.get("/api/models")
    def api_models() -> dict:
        model, mode = models.default
        return {"models": models.names(), "default": model, "default_mode": mode}

    @app.websocket("/ws/live")
    async def ws_live(websocket: WebSocket) -> None:
        if not authorised(request_token(websocket)):
            await websocket.close(code=1008, reason="missing or wrong token")
            return
        await websocket.accept()
        loop = asyncio.get_running_loop()
        outbound: asyncio.Queue[dict] = asyncio.Queue()

        def send(message: dict) -> None:
            loop.call_soon_threadsafe(outbound.put_nowait, message)

        connection = await run_in_threadpool(LiveConnection, models, send, settings.detector)
        sender = asyncio.create_task(_send_all(websocket, outbound))
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                try:
                    if message.get("bytes") is not None:
                        connection.feed(message["bytes"])
                    elif message.get("text") is not None:
                        applied = await run_in_threadpool(connection.configure, message["text"])
                        send({"type": "settings", **applied})
                except FerError as error:
                    send({"type": "error", "error": error.message})
        except WebSocketDisconnect:
            pass
        finally:
            sender.cancel()
            await run_in_threadpool(connection.close)

    for path, page in PAGES.items():
        app.add_api_route(path, _page(page), include_in_schema=False)
    app.add_api_route("/report/{job_id}", _page("report.html"), include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _page(name: str):
    def serve_page() -> FileResponse:
        return FileResponse(STATIC / name, media_type="text/html")

    return serve_page


async def _send_all(websocket: WebSocket, outbound: asyncio.Queue) -> None:
    try:
        while True:
            await websocket.send_json(await outbound.get())
    except (WebSocketDisconnect, RuntimeError):
        pass  # the browser went away; the receiving side ends the connection
