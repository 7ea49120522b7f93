"""Writing files so that a final name only ever holds a complete file.

Every output is written under a temporary name in the target's own folder (so the rename is
atomic) and renamed when complete. The temporary name is unique per writer and created with
O_EXCL (`tempfile.mkstemp`): two runs writing the same output never share (and interleave) one
temporary file, and a planted symlink is never followed. The last writer's complete file wins.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from fer_live.engines.errors import OutputError

PARTIAL_MARK = ".partial"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def reserve_temporary(path: Path) -> Path:
    """Create a new, empty, uniquely named hidden file beside `path`: `.<stem>.<pid>.<random>
    .partial<suffix>` (the suffix kept, so writers that choose a format by it still do). The
    writer's process id lets a later run clear what a killed one left (remove_stale)."""
    path = Path(path)
    remove_stale(path)
    descriptor, name = tempfile.mkstemp(
        prefix=f".{path.stem}.{os.getpid()}.", suffix=f"{PARTIAL_MARK}{path.suffix}",
        dir=path.parent,
    )
    os.close(descriptor)
    return Path(name)


def remove_stale(path: Path) -> list[Path]:
    """Delete temporaries for `path` whose writing process no longer runs on this machine (a
    SIGKILL, a killed Ray worker); those of live writers (a concurrent run) are left alone."""
    path = Path(path)
    removed = []
    for candidate in path.parent.glob(f".{path.stem}.*{PARTIAL_MARK}{path.suffix}"):
        pid = candidate.name[len(path.stem) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            discard(candidate)
            removed.append(candidate)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def publish(temporary: Path, path: Path) -> None:
    """Give the finished temporary file its final name, with the permissions a plain `open`
    would have given it (mkstemp creates files readable by their owner only)."""
    os.chmod(temporary, 0o666 & ~_umask())
    os.replace(temporary, path)


def discard(temporary: Path) -> None:
    with contextlib.suppress(OSError):
        Path(temporary).unlink()


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path to write; renamed to `path` when the block ends without an error,
    removed otherwise. OSErrors become one OutputError line naming `path`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = reserve_temporary(path)
    except OSError as error:
        raise OutputError(f"{path}: cannot write ({error.strerror or error})") from error
    try:
        yield temporary
        publish(temporary, path)
    except OSError as error:
        discard(temporary)
        raise OutputError(f"{path}: cannot write ({error.strerror or error})") from error
    except BaseException:
        discard(temporary)
        raise


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """`write(temporary)` then rename to `path` (see atomic_path)."""
    with atomic_path(path) as temporary:
        write(temporary)
    return Path(path)


def write_text_atomic(path: Path, text: str) -> Path:
    return write_atomic(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
