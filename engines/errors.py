"""The one exception hierarchy of the project.

Library code raises these; only the command-line layer catches them, prints one line on stderr and
sets the exit code: 2 for bad usage or input (`UsageError` and subclasses), 1 for a failure
during work.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class FerError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(FerError):
    """The user asked for something that cannot be done as asked (exit code 2)."""

    exit_code = 2


class UnknownNameError(UsageError):
    """A name (model, mode, backend, precision, ...) that is not one of the valid choices."""

    def __init__(self, kind: str, name: str, choices: Iterable[str]) -> None:
        options = sorted(choices)
        close = []
        if isinstance(name, str):  # the Python API may pass anything, e.g. flip=False
            close = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else None
        super().__init__(f"unknown {kind} '{name}'; choose one of: {', '.join(options)}", hint)
        self.choices = options
        self.suggestion = close[0] if close else None


class SourceError(UsageError):
    """A camera, stream or file that cannot be opened or read."""


class InputFileError(UsageError):
    """An input file (video, image, dataset) that is missing, unreadable or malformed."""


class ModelFileError(UsageError):
    """A model artifact that is missing, corrupt or does not match its spec."""


class BackendUnavailableError(UsageError):
    """A backend that cannot run here (missing package, no GPU)."""


class OutputError(FerError):
    """An output that cannot be written (permissions, disk full)."""


class ProcessingError(FerError):
    """A failure during work on one input (decode error, inference failure)."""
