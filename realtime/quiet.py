"""Muting native libraries that write straight to file descriptor 2 (MediaPipe/LiteRT start-up).

Python's `sys.stderr` cannot catch C++ logging; our own one-line errors must not drown in it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_muted() -> Iterator[None]:
    if os.environ.get("FER_DEBUG"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
