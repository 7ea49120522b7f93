"""Clean stops on Ctrl-C and SIGTERM: the signal handlers only set a flag, the loops check it.

The handlers never raise. An exception raised from a signal handler lands at an arbitrary point of
the main thread: inside a queue's `put` it left the queue's lock held, and closing the video sink
then waited for ever (measured: 2 hangs and 2 segfaults in 70 SIGTERMs). With a flag, the frame
loop stops between frames and the file loop before the next input, and every sink is finalised.

After the first Ctrl-C, SIGINT gets its default action back: a second Ctrl-C kills at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class StopFlag:
    """Process-wide: which signal asked the work to stop (None while none did)."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def __bool__(self) -> bool:
        return self.signal_name is not None

    def request(self, signal_name: str) -> None:
        self.signal_name = self.signal_name or signal_name

    @property
    def exit_code(self) -> int:
        """The shell's convention for a stop by signal N: 128 + N (130 Ctrl-C, 143 SIGTERM)."""
        return 128 + int(signal.Signals[self.signal_name]) if self.signal_name else 0

    def clear(self) -> None:
        self.signal_name = None


STOP = StopFlag()
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _on_signal(signum, _frame) -> None:
    name = signal.Signals(signum).name
    if signum == signal.SIGINT:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # the user's next Ctrl-C kills at once
    STOP.request(name)


def _ours() -> bool:
    # SIGTERM only: after a first Ctrl-C, SIGINT has its default action back on purpose.
    return signal.getsignal(signal.SIGTERM) is _on_signal


def install_stop_handlers() -> bool:
    """Route SIGTERM and SIGINT to STOP for the rest of the process (command-line entry points,
    as early as possible). Returns False off the main thread, where Python allows no handlers."""
    if threading.current_thread() is not threading.main_thread():
        return False
    STOP.clear()
    for s in _SIGNALS:
        signal.signal(s, _on_signal)
    return True


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopFlag]:
    """STOP set by SIGTERM / Ctrl-C while the block runs. Inside a command that installed the
    handlers already this changes nothing (a signal during start-up still counts); elsewhere (a
    library caller) the handlers hold for the block and the previous ones come back after it."""
    if _ours() or threading.current_thread() is not threading.main_thread():
        yield STOP
        return
    previous = {s: signal.getsignal(s) for s in _SIGNALS}
    install_stop_handlers()
    try:
        yield STOP
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
