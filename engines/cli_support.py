"""What every command-line entry point shares: turning our errors into one line and an exit code."""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Callable

import typer

from fer_live.engines.errors import FerError


def quiet_frameworks() -> None:
    """Silence TensorFlow's, absl's and OpenCV's chatter on stderr, which buries our messages
    (OpenCV's FFmpeg writer warns once per frame on a full disk; our error says it once)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    os.environ.setdefault("GLOG_minloglevel", "2")
    # FFmpeg's own lines ("[mpeg4 @ 0x...] header damaged", one per bad frame); a file that
    # cannot be decoded gets our one line naming it instead.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def run_cli(work: Callable[[], object], stop_signals: bool = False) -> None:
    """Run a command body; FerError -> one stderr line (+ hint), exit 2 (usage) or 1 (failure).

    stop_signals: SIGTERM and Ctrl-C only set a flag that the body's loops check
    (engines/stopping.py), from here on, so a signal during start-up is a clean stop too; the
    command then exits 128 + the signal's number after finalising its outputs.
    """
    quiet_frameworks()
    try:
        if not stop_signals:
            _run_reporting_errors(work)
            return
        from fer_live.engines.stopping import STOP, stop_on_signals

        with stop_on_signals():
            _run_reporting_errors(work)
        if STOP:
            print(f"stopped by {STOP.signal_name}", file=sys.stderr)
            raise typer.Exit(STOP.exit_code)
    finally:
        # The command is done and its outputs are closed. Interpreter shutdown would now run a
        # full collection over every object of mediapipe, ONNX Runtime, OpenCV and matplotlib:
        # 0.15-0.2 s of a 4 s fer-video run, against 0.03 s with the heap frozen (2-core AMD
        # EPYC with AVX-512). Frozen objects are only skipped by the collector; atexit handlers
        # and finalisers of objects freed by reference counting still run.
        gc.freeze()


def _run_reporting_errors(work: Callable[[], object]) -> None:
    try:
        work()
    except FerError as error:
        print(f"error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"hint: {error.hint}", file=sys.stderr)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise typer.Exit(130) from None
    except MemoryError:
        print("error: out of memory", file=sys.stderr)
        raise typer.Exit(1) from None
    except OSError as error:
        logging.getLogger(__name__).debug("OS error", exc_info=True)
        print(
            f"error: {error.strerror or error}: {error.filename or ''}".rstrip(": "),
            file=sys.stderr,
        )
        raise typer.Exit(1) from None


def stderr_console():
    """Rich console on stderr: progress and summaries never mix with data on stdout. Messages
    are not wrapped at the terminal width (file names stay whole for grep and logs)."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)
