"""Console-script entry points of the stoppable commands (fer-video, fer-live).

The stop handlers (engines/stopping.py) go in before anything slow is imported: a SIGTERM during
the second or so of imports and model loading is then a clean stop too, instead of the process
dying by the signal. When the command has finished (every output final), the process ends with
`os._exit` after flushing: Python's own finalisation would first put SIGTERM back to its default
action and spend up to a second tearing down TensorFlow, MediaPipe and ONNX Runtime, and a
SIGTERM in that window killed the process by the signal (measured: 1 in 20 random SIGTERMs).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable

from fer_live.engines.stopping import install_stop_handlers


def _run_then_exit(load_app: Callable[[], Callable[[], object]]) -> None:
    install_stop_handlers()
    try:
        load_app()()
        code: object = 0
    except SystemExit as done:
        code = done.code
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # finished: nothing is left to stop
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(code or 0))


def fer_video() -> None:
    def load():
        from fer_live.realtime.video_cli import app

        return app

    _run_then_exit(load)


def fer_live() -> None:
    def load():
        from fer_live.realtime.live_cli import app

        return app

    _run_then_exit(load)
