"""fer-serve in a real browser: Debian's Chromium, headless, driven by Playwright.

The live page gets Chromium's fake camera fed from the shared talking-head clip (converted to
Y4M here); the test waits until the page has drawn labelled boxes for 200 answered frames and
reads the face count, a label and the page's own latency figure. Then it uploads the stage clip
on the recordings page, waits for the report, and checks the timeline image and the CSV download.
On failure it saves a screenshot of the page (path in the message).

The browser is /usr/bin/chromium from Debian's `chromium` package (never a downloaded one);
`.ci/run` installs it. FER_SCREENSHOT_DIR=folder also saves the pages' screenshots on success
(the README's screenshot comes from there).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from fer_live.engines.labels import EMOTIONS

CHROMIUM = Path("/usr/bin/chromium")
LIVE_FRAMES = 200
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # The machine's network is closed: without these Chromium keeps trying Google's hosts.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def need_chromium() -> Path:
    if CHROMIUM.is_file():
        return CHROMIUM
    reason = "Debian's chromium is not installed (apt-get install chromium)"
    if os.environ.get("FER_REQUIRE_SHARED") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def to_y4m(video: Path, target: Path, seconds: float = 10.0, width: int = 640) -> Path:
    """Chromium's fake camera reads Y4M (raw I420 frames after a one-line header)."""
    capture = cv2.VideoCapture(str(video))
    fps = round(capture.get(cv2.CAP_PROP_FPS) or 25)
    with target.open("wb") as out:
        for index in range(int(fps * seconds)):
            ok, frame = capture.read()
            if not ok:
                break
            height = round(frame.shape[0] * width / frame.shape[1]) // 2 * 2
            frame = cv2.resize(frame, (width, height))
            if index == 0:
                out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
            out.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    capture.release()
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def server(tmp_path):
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("fer-serve")), "--port", str(port),
        "--jobs-dir", str(tmp_path / "jobs"),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "open http://" in line:
            break
    else:
        pytest.fail(f"fer-serve did not start: {''.join(lines)}")
    url = re.search(r"http://\S+", lines[-1]).group(0).rstrip("/")
    yield url
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("fer-serve did not stop on SIGTERM")


@pytest.fixture()
def browser_page(tmp_path, media):
    playwright_api = pytest.importorskip("playwright.sync_api")
    chromium = need_chromium()
    camera = to_y4m(media / "talking_head_webcam_man.mp4", tmp_path / "camera.y4m")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium),
            headless=True,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={camera}"],
        )
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1100, "height": 900}
        )
        page = context.new_page()
        page.console_messages_seen = []
        page.on("console", lambda message: page.console_messages_seen.append(message.text))
        page.on("pageerror", lambda error: page.console_messages_seen.append(f"error: {error}"))
        try:
            yield page
        finally:
            browser.close()


@contextlib.contextmanager
def screenshot_on_failure(page, folder: Path):
    try:
        yield
    except BaseException:
        shot = folder / "failure.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failing page: {shot}")
        print(f"page console: {page.console_messages_seen[-20:]}")
        raise


def save_screenshot(page, name: str) -> None:
    folder = os.environ.get("FER_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name))


def test_live_page_and_a_recording_report_in_chromium(server, browser_page, media, tmp_path):
    with screenshot_on_failure(browser_page, tmp_path):
        check_live_page_and_report(server, browser_page, media)


def check_live_page_and_report(server, page, media):
    page.goto(server + "/")
    page.wait_for_function(
        f"window.ferLive && window.ferLive.latencies.length >= {LIVE_FRAMES}", timeout=120_000
    )
    assert page.get_attribute("#overlay", "data-drawn") == "1"
    assert page.text_content("#face-count") == "1"
    label = page.text_content(".face-label")
    assert re.fullmatch(rf"#\d+ ({'|'.join(EMOTIONS)})", label), label
    assert page.locator(".face .bar").count() == len(EMOTIONS)
    latency = float(page.text_content("#latency"))
    dropped = int(page.text_content("#dropped"))
    fps = page.text_content("#fps")
    print(f"live: median latency {latency:.0f} ms over {LIVE_FRAMES} frames, {fps} fps, "
          f"{dropped} frames dropped by the server")  # fmt: skip
    assert page.text_content("#error") == ""
    save_screenshot(page, "live.png")

    page.goto(server + "/recordings")
    page.set_input_files("#file", str(media / "hamilton_clip_stage_multiface.mp4"))
    page.click("button[type=submit]")
    page.wait_for_selector("tr[data-status=done] a.report", timeout=300_000)
    page.click("tr[data-status=done] a.report")
    page.wait_for_selector("#report:not([hidden])", timeout=30_000)
    assert page.locator("#people tr").count() >= 2  # the stage clip has several people
    page.wait_for_function(
        "document.getElementById('timeline').complete && "
        "document.getElementById('timeline').naturalWidth > 0"
    )
    save_screenshot(page, "report.png")
    with page.expect_download() as download_info:
        page.click("#download-csv")
    csv = Path(download_info.value.path()).read_text().splitlines()
    assert csv[0].startswith("frame") and len(csv) > 10
