"""Start-up cost of `fer-video`: whole-process wall time on a one-second clip (30 frames), so
that model loading, detector loading and imports dominate. Optionally the same for an older
checkout of the code (e.g. `git archive 40fce1a | tar -x -C /tmp/before`), run the same way.

    python -m fer_live.benchmarks.startup_time --runs 5 --checkout /tmp/before

Each run is a fresh interpreter started in the code's folder (`python -c` of the fer-video
entry), so an older checkout runs its own modules, not the installed ones. Runs of the two
alternate, so drift in the machine's load falls on both alike.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer

from fer_live.benchmarks.video_throughput import MEDIA, TALK, make_clip
from fer_live.engines.cli_support import run_cli

ENTRY = "import sys; sys.argv[0] = 'fer-video'; from {module} import app; app()"
# Checkouts from before the one import package (2026-12-03) import realtime.* from their folder.
OLD_MODULE, MODULE = "realtime.video_cli", "fer_live.realtime.video_cli"
HERE = Path(__file__).resolve().parents[1]

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


def _entry(code_dir: Path) -> str:
    """This code runs as installed; an older checkout runs from its own folder (old layout only:
    a checkout in the fer_live layout resolves to the installed code, which would time it)."""
    if code_dir == HERE:
        return ENTRY.format(module=MODULE)
    if "fer_live.realtime" in (code_dir / "pyproject.toml").read_text(encoding="utf-8"):
        raise typer.BadParameter(f"{code_dir}: only checkouts from before fer_live.* can run here")
    return ENTRY.format(module=OLD_MODULE)


def time_run(code_dir: Path, clip: Path) -> float:
    entry = _entry(code_dir)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", entry, str(clip), "--output-dir", out, "--quiet"],
            cwd=code_dir,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise typer.BadParameter(f"fer-video in {code_dir} failed: {done.stderr[-500:]}")
    return seconds


@app.command(help=__doc__)
def main(
    runs: Annotated[int, typer.Option(min=1)] = 5,
    checkout: Annotated[Path | None, typer.Option(help="an older copy of the code")] = None,
    media: Path = MEDIA,
) -> None:
    def work() -> None:
        clip = make_clip([media / TALK], Path(tempfile.gettempdir()) / "fer_talk_1s.mp4", 1)
        folders = {"checkout": checkout, "this code": HERE}
        folders = {label: folder for label, folder in folders.items() if folder is not None}
        times: dict[str, list[float]] = {label: [] for label in folders}
        for _ in range(runs):
            for label, folder in folders.items():
                times[label].append(time_run(folder, clip))
        for label, seconds in times.items():
            print(
                f"{label}: median {statistics.median(seconds):.2f} s over {runs} runs "
                f"({', '.join(f'{s:.2f}' for s in seconds)})",
                flush=True,
            )

    run_cli(work)


if __name__ == "__main__":
    app()
