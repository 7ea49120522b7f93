"""fer-serve's HTTP API and WebSocket (FastAPI's TestClient, real models, detector and clips):
the fixed API shapes, a job from upload to report files, and every bad input with its message."""

from __future__ import annotations

import json
import struct
import time

import cv2
import pytest

from fer_live.engines.labels import EMOTIONS

fastapi_testclient = pytest.importorskip("fastapi.testclient")


def short_clip(media, path, seconds=2.0):
    """The first seconds of the shared talking-head clip, re-encoded (small uploads)."""
    capture = cv2.VideoCapture(str(media / "talking_head_webcam_man.mp4"))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    ok, frame = capture.read()
    height, width = frame.shape[:2]
    scale = 480 / width
    size = (480, round(height * scale) // 2 * 2)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for _ in range(int(fps * seconds)):
        writer.write(cv2.resize(frame, size))
        ok, frame = capture.read()
        if not ok:
            break
    writer.release()
    capture.release()
    return path


def make_client(tmp_path, **settings):
    from fer_live.realtime.web.app import ServeSettings, create_app

    app = create_app(ServeSettings(jobs_dir=tmp_path / "jobs", **settings))
    return fastapi_testclient.TestClient(app)


@pytest.fixture(scope="module")
def client(tmp_path_factory, media):
    with make_client(tmp_path_factory.mktemp("serve"), keep_jobs=2) as shared:
        yield shared


def wait_for(client, job_id, statuses=("done", "failed", "cancelled"), timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job['status']}")


def test_image_api_finds_both_people(client, media):
    with (media / "photo_two_people.jpg").open("rb") as photo:
        answer = client.post("/api/image", files={"file": ("p.jpg", photo, "image/jpeg")})
    assert answer.status_code == 200
    faces = answer.json()["faces"]
    assert len(faces) == 2
    for face in faces:
        assert len(face["box"]) == 4 and face["box"][2] > 20
        assert face["label"] in EMOTIONS and list(face["probabilities"]) == list(EMOTIONS)


def test_a_job_from_upload_to_its_report_files(client, media, tmp_path):
    clip = short_clip(media, tmp_path / "talk.mp4")
    with clip.open("rb") as video:
        created = client.post("/api/jobs", files={"file": ("talk.mp4", video, "video/mp4")})
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    assert len(job_id) == 16
    job = wait_for(client, job_id)
    assert job["status"] == "done" and job["progress"] == 1.0, job
    assert set(job["outputs"]) == {"csv", "summary", "timeline", "video"}
    csv = client.get(job["outputs"]["csv"])
    assert csv.status_code == 200 and csv.text.splitlines()[0].startswith("frame")
    summary = client.get(job["outputs"]["summary"]).json()
    assert summary["faces"] > 0 and summary["overall"]["people"] == 1
    timeline = client.get(job["outputs"]["timeline"])
    assert timeline.content[:4] == b"\x89PNG"
    assert any(j["id"] == job_id for j in client.get("/api/jobs").json()["jobs"])


def test_a_queued_job_can_be_cancelled(client, media, tmp_path):
    clip = short_clip(media, tmp_path / "talk.mp4", seconds=4)
    ids = []
    for _ in range(2):
        with clip.open("rb") as video:
            ids.append(client.post("/api/jobs", files={"file": ("t.mp4", video)}).json()["id"])
    cancelled = client.post(f"/api/jobs/{ids[1]}/cancel")
    assert cancelled.status_code == 200
    assert wait_for(client, ids[1])["status"] == "cancelled"
    assert wait_for(client, ids[0])["status"] == "done"
    again = client.post(f"/api/jobs/{ids[0]}/cancel")
    assert again.status_code == 409 and "already done" in again.json()["error"]


def test_an_upload_that_is_no_video(client, media):
    for name, data in (("notes.txt", b"not a video at all" * 100), ("empty.mp4", b"")):
        answer = client.post("/api/jobs", files={"file": (name, data)})
        assert answer.status_code == 400
        assert name in answer.json()["error"] or "empty" in answer.json()["error"]
    with (media / "photo_two_people.jpg").open("rb") as photo:
        answer = client.post("/api/jobs", files={"file": ("photo.jpg", photo)})
    assert answer.status_code == 400 and "still image" in answer.json()["error"]
    answer = client.post("/api/jobs", content=b"garbage", headers={"content-type": "text/plain"})
    assert answer.status_code == 400 and "multipart" in answer.json()["error"]


def test_an_oversize_upload(tmp_path, media):
    with make_client(tmp_path, max_upload_mb=0.05) as small:
        answer = small.post("/api/jobs", files={"file": ("big.mp4", b"\0" * 200_000)})
        assert answer.status_code == 413
        assert "limit" in answer.json()["error"]
        assert not list((tmp_path / "jobs").iterdir())  # nothing left behind


def test_a_wrong_token(tmp_path):
    from starlette.websockets import WebSocketDisconnect

    with make_client(tmp_path, token="right-token-123") as guarded:
        for url in ("/api/models", "/api/models?token=wrong", "/"):
            answer = guarded.get(url)
            assert answer.status_code == 401 and "token" in answer.json()["error"]
        assert guarded.get("/api/models?token=right-token-123").status_code == 200
        bearer = {"authorization": "Bearer right-token-123"}
        assert guarded.get("/api/jobs", headers=bearer).status_code == 200
        guarded.cookies.clear()
        with pytest.raises(WebSocketDisconnect) as closed:
            with guarded.websocket_connect("/ws/live?token=wrong") as socket:
                socket.receive_json()
        assert closed.value.code == 1008


def test_a_job_that_does_not_exist(client):
    for url in ("/api/jobs/0123456789abcdef", "/api/jobs/..%2F..%2Fetc", "/api/jobs/x/files/csv"):
        answer = client.get(url)
        assert answer.status_code == 404
        assert "error" in answer.json()
    answer = client.post("/api/jobs/0123456789abcdef/cancel")
    assert answer.status_code == 404


def test_a_websocket_that_sends_garbage_then_a_frame(client, media):
    image = cv2.imread(str(media / "photo_two_people.jpg"))
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    with client.websocket_connect("/ws/live") as socket:
        for garbage, expected in (
            ("{not json", "JSON"),
            (json.dumps([1, 2]), "object"),
            (json.dumps({"volume": 3}), "unknown setting"),
            (json.dumps({"smoothing": 7}), "smoothing"),
            (json.dumps({"model": "no_such_model"}), "no_such_model"),
        ):
            socket.send_text(garbage)
            message = socket.receive_json()
            assert message["type"] == "error" and expected in message["error"], message
        socket.send_bytes(b"\x01")
        assert "4-byte" in socket.receive_json()["error"]
        socket.send_bytes(struct.pack("<I", 7) + b"\xff\xd8 not really a jpeg")
        assert socket.receive_json()["error"] == "frame 7 is not a JPEG or PNG image"
        socket.send_bytes(struct.pack("<I", 8) + jpeg)  # still serving after all that
        message = socket.receive_json()
        assert message["type"] == "result" and message["seq"] == 8
        assert len(message["faces"]) == 2
        assert {"id", "box", "label", "confidence", "probabilities"} <= set(message["faces"][0])


def test_openapi_lists_the_fixed_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/image", "/api/jobs", "/api/jobs/{job_id}"} <= set(paths)
