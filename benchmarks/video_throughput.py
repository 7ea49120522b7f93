"""Whole-process throughput and memory of the commands, as a user runs them.

    python -m fer_live.benchmarks.video_throughput --model five_layer --precision int8 --json t.json

Cases (each a fresh `fer-video` / `fer-live` process, timed from launch to exit, start-up
included; peak resident memory of that process from `wait4`):
- realtime_x: fer-video on a one-minute clip made by repeating each shared clip (annotated mp4
  included): seconds of video per second of processing.
- memory: fer-video --no-video on a one-minute and a 10-minute clip (the shared clips
  concatenated): peak RSS of both, and their ratio (memory must stay flat: the issue's bar is
  within 10%). `--no-speed --memory` runs this case alone.
- live_640x480: fer-live --no-display on the one-face talking-head clip letterboxed to 640×480:
  the frames per second it reports (processing only, after start-up).
- ray: fer-video --executor ray on four one-minute clips with 1 and 2 workers (with --ray).
- with --old-model M: every realtime_x case (and live_640x480) also runs the settings before key
  frames (M, `--detect-every 1`) in the same run, and a speedup row gives new / old. With
  --old-code SITE those runs use an older fer-live installed in SITE instead of this code
  (`git archive COMMIT | tar -x -C /tmp/old && pip install --no-deps --target SITE /tmp/old`),
  so the old row is the old release as a user had it, not its settings on this code.
Generated clips are cached in --work-dir. Numbers depend on the machine: the JSON header says which.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from fer_live.benchmarks.machine import machine_header
from fer_live.engines.cli_support import run_cli
from fer_live.engines.store import DEFAULT_MODEL, RUNTIME_FLIP

MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
TALK = "talking_head_webcam_man.mp4"
STAGE = "hamilton_clip_stage_multiface.mp4"

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


def make_clip(sources: list[Path], target: Path, seconds: float, size=None) -> Path:
    """Concatenate `sources` (cycling) until `seconds` of video; optionally letterbox to size."""
    import cv2
    import numpy as np

    if target.exists():
        return target
    first = cv2.VideoCapture(str(sources[0]))
    fps = first.get(cv2.CAP_PROP_FPS) or 30.0
    width, height = size or (
        int(first.get(cv2.CAP_PROP_FRAME_WIDTH)),
        int(first.get(cv2.CAP_PROP_FRAME_HEIGHT)),
    )
    first.release()
    tmp = target.with_name(f".{target.stem}.partial.mp4")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    needed, written, index = round(seconds * fps), 0, 0
    while written < needed:
        capture = cv2.VideoCapture(str(sources[index % len(sources)]))
        index += 1
        while written < needed:
            ok, image = capture.read()
            if not ok:
                break
            writer.write(_fit(image, width, height, np))
            written += 1
        capture.release()
    writer.release()
    tmp.replace(target)
    return target


def _fit(image, width: int, height: int, np):
    """Scale into width×height keeping the aspect ratio, pad with black (letterbox)."""
    import cv2

    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    scale = min(width / w, height / h)
    resized = cv2.resize(image, (round(w * scale), round(h * scale)))
    canvas = np.zeros((height, width, 3), np.uint8)
    y, x = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    canvas[y : y + resized.shape[0], x : x + resized.shape[1]] = resized
    return canvas


def run_timed(command: list[str], env: dict[str, str] | None = None) -> dict:
    """Run a command; wall seconds from launch to exit, peak RSS (MB), stderr. With `env` (old
    code) it runs in the site folder: a checkout's own fer_live/ in the current folder would
    otherwise come first on `python -c`'s path."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
        cwd=env["PYTHONPATH"] if env else None,
    )
    # Read stderr on the side so a chatty process never blocks on a full pipe.
    stderr_lines: list[str] = []

    reader = threading.Thread(target=lambda: stderr_lines.extend(process.stderr), daemon=True)
    reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = "".join(stderr_lines)
    if process.returncode != 0:
        raise typer.BadParameter(f"{' '.join(command)} failed ({process.returncode}): {stderr}")
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024, "stderr": stderr}


def _tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


ENTRIES = {"fer-video": "fer_video", "fer-live": "fer_live"}


def _old_code_env(site: Path) -> dict[str, str]:
    """The environment that makes `import fer_live` find the copy in `site` (PYTHONPATH comes
    before the editable install's finder); refused unless it really does."""
    env = {**os.environ, "PYTHONPATH": str(site)}
    probe = subprocess.run(
        [sys.executable, "-c", "import fer_live.realtime.entry as e; print(e.__file__)"],
        env=env, capture_output=True, text=True, check=False, cwd=site,
    )
    if probe.returncode != 0 or not probe.stdout.strip().startswith(str(site.resolve())):
        raise typer.BadParameter(f"{site}: holds no fer-live of its own ({probe.stderr.strip()})")
    return env


def _old_code_command(name: str) -> list[str]:
    entry = ENTRIES[name]
    code = f"import sys; sys.argv[0] = {name!r}; from fer_live.realtime.entry import {entry}; "
    return [sys.executable, "-c", code + f"{entry}()"]


def _video_seconds(path: Path) -> tuple[float, int]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    capture.release()
    return frames / fps, frames


@app.command(help=__doc__)
def main(
    model: str = DEFAULT_MODEL,
    precision: str = "int8",
    backend: str = "auto",
    flip: Annotated[
        str,
        typer.Option(help="the new settings' --flip: unsure | auto | on | off (mirror averaging)"),
    ] = RUNTIME_FLIP,
    work_dir: Annotated[Path, typer.Option(help="generated clips and outputs")] = Path(
        "/tmp/fer-throughput"
    ),
    media: Annotated[Path, typer.Option(help="the shared media folder")] = MEDIA,
    speed: Annotated[bool, typer.Option(help="the realtime_x and live_640x480 cases")] = True,
    memory: Annotated[bool, typer.Option(help="also the 1 min vs 10 min memory case")] = True,
    ray: Annotated[bool, typer.Option(help="also --executor ray with 1 and 2 workers")] = False,
    old_model: Annotated[
        str | None,
        typer.Option(help="also run the old settings: this model with --detect-every 1"),
    ] = None,
    old_code: Annotated[
        Path | None,
        typer.Option(help="with --old-model: run the old settings on the fer-live in this site "
                     "folder (pip install --target) instead of this code"),
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json")] = None,
) -> None:
    def work() -> None:
        work_dir.mkdir(parents=True, exist_ok=True)

        def model_args(name: str, flip: str) -> list[str]:
            return ["--model", name, "--precision", precision, "--backend", backend, "--flip", flip]

        settings = {"new": model_args(model, flip)}
        if old_model is not None:
            # The old settings: every face mirrored as its model says ("auto", the default
            # before "unsure" existed) and the detector on every frame.
            settings["old"] = [*model_args(old_model, "auto"), "--detect-every", "1"]
        old_env = _old_code_env(old_code) if old_code is not None and old_model else None
        rows: list[dict] = []

        def tool(name: str, setting: str) -> tuple[list[str], dict | None]:
            if setting == "old" and old_env is not None:
                return _old_code_command(name), old_env
            return [_tool(name)], None

        def fer_video(inputs: list[Path], *extra: str, setting: str = "new") -> dict:
            out = work_dir / "out"
            shutil.rmtree(out, ignore_errors=True)
            program, env = tool("fer-video", setting)
            command = [*program, *map(str, inputs), *settings[setting], "--quiet"]
            return run_timed([*command, "--output-dir", str(out), *extra], env)

        def speedup(case: str, clip: str, key: str) -> None:
            found = {r["settings"]: r[key] for r in rows if r["case"] == case and r["clip"] == clip}
            if {"old", "new"} <= found.keys() and found["old"]:
                ratio = round(found["new"] / found["old"], 2)
                rows.append({"case": "speedup", "measure": case, "clip": clip, key: ratio})
                print(rows[-1], flush=True)

        if speed:
            for name, label in ((TALK, "talk_480x480"), (STAGE, "stage_640x360")):
                clip = make_clip([media / name], work_dir / f"{label}_60s.mp4", 60)
                seconds, frames = _video_seconds(clip)
                for setting in settings:
                    timed = fer_video([clip], setting=setting)
                    rows.append(
                        {
                            "case": "realtime_x",
                            "clip": label,
                            "settings": setting,
                            "video_s": round(seconds, 1),
                            "frames": frames,
                            "wall_s": round(timed["seconds"], 1),
                            "realtime_x": round(seconds / timed["seconds"], 2),
                            "peak_rss_mb": round(timed["peak_rss_mb"]),
                        }
                    )
                    print(rows[-1], flush=True)
                speedup("realtime_x", label, "realtime_x")
            clip = work_dir / "talk_480x480_60s.mp4"
            seconds, _ = _video_seconds(clip)
            for setting in settings:
                timed = fer_video([clip], "--no-video", setting=setting)
                rows.append(
                    {
                        "case": "realtime_x_no_video",
                        "clip": "talk_480x480",
                        "settings": setting,
                        "wall_s": round(timed["seconds"], 1),
                        "realtime_x": round(seconds / timed["seconds"], 2),
                    }
                )
                print(rows[-1], flush=True)
            speedup("realtime_x_no_video", "talk_480x480", "realtime_x")

            talk640 = make_clip([media / TALK], work_dir / "talk_640x480_30s.mp4", 30, (640, 480))
            for setting in settings:
                program, env = tool("fer-live", setting)
                live = [*program, "--camera", str(talk640), *settings[setting]]
                timed = run_timed([*live, "--no-display"], env)
                fps = re.search(r"([\d.]+) fps", timed["stderr"])
                rows.append(
                    {
                        "case": "live_640x480",
                        "clip": "talk_640x480",
                        "settings": setting,
                        "fps": float(fps.group(1)) if fps else None,
                        "wall_s": round(timed["seconds"], 1),
                    }
                )
                print(rows[-1], flush=True)
            speedup("live_640x480", "talk_640x480", "fps")

        if memory:
            both = [media / TALK, media / STAGE]
            for label, seconds in (("1min", 60), ("10min", 600)):
                clip = make_clip(both, work_dir / f"mixed_{label}.mp4", seconds, (640, 480))
                timed = fer_video([clip], "--no-video")
                rows.append(
                    {
                        "case": "memory",
                        "clip": f"mixed_{label}",
                        "wall_s": round(timed["seconds"], 1),
                        "peak_rss_mb": round(timed["peak_rss_mb"]),
                    }
                )
                print(rows[-1], flush=True)
            short, long = rows[-2]["peak_rss_mb"], rows[-1]["peak_rss_mb"]
            rows.append({"case": "memory_ratio", "ten_min_over_one_min": round(long / short, 3)})
            print(rows[-1], flush=True)

        if ray:
            clip = work_dir / "talk_480x480_60s.mp4"
            folder = work_dir / "ray_inputs"
            folder.mkdir(exist_ok=True)
            for index in range(4):
                copy = folder / f"clip{index}.mp4"
                if not copy.exists():
                    shutil.copy(clip, copy)
            video_s = 4 * _video_seconds(clip)[0]
            for workers in (1, 2):
                timed = fer_video([folder], "--executor", "ray", "--workers", str(workers))
                rows.append(
                    {
                        "case": "ray",
                        "workers": workers,
                        "video_s": round(video_s, 1),
                        "wall_s": round(timed["seconds"], 1),
                        "realtime_x": round(video_s / timed["seconds"], 2),
                    }
                )
                print(rows[-1], flush=True)

        if json_path is not None:
            report = {
                "header": machine_header(),
                "model": model,
                "precision": precision,
                "flip": flip,
                "settings": settings,
                "old_code": str(old_code) if old_code else "this code",
            }
            json_path.write_text(json.dumps({**report, "rows": rows}, indent=2) + "\n")

    run_cli(work)


if __name__ == "__main__":
    app()
