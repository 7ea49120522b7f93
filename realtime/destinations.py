"""Where one input's outputs end up: a local folder, or a filesystem URL (s3://, gs://, ...).

Local folders are written in place (every sink writes a hidden `.partial` name and renames it).
For a URL the per-file job writes into a local staging folder first and `publish` copies each
file to a temporary name at the destination, then moves it to its final name; the summary JSON
goes last, so its presence means the input's outputs are complete. URLs go through fsspec, which
pulls in the right filesystem package (s3fs, gcsfs, ...) when one is installed.
"""

from __future__ import annotations

import json
from pathlib import Path

from fer_live.engines.errors import OutputError

SUMMARY_SUFFIX = ".summary.json"


def is_url(location: str | Path | None) -> bool:
    return isinstance(location, str) and "://" in location


def _filesystem(url: str):
    try:
        import fsspec
    except ImportError as error:  # the [cluster] extra brings it
        raise OutputError(
            f"{url}: writing to a URL needs fsspec", hint="pip install 'fer-live[cluster]'"
        ) from error
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as error:
        raise OutputError(f"{url}: no filesystem for this URL ({error})") from error


def output_names(stem: str, write_video: bool, image_suffix: str | None = None) -> list[str]:
    """An input's output files, summary last (its presence marks the set complete). A photo
    (image_suffix set) gets its annotated image in its own format instead of mp4 and timeline."""
    if image_suffix is not None:
        return [f"{stem}.csv", annotated_image_name(stem, image_suffix), f"{stem}{SUMMARY_SUFFIX}"]
    names = [f"{stem}.csv", f"{stem}.timeline.png"]
    if write_video:
        names.append(f"{stem}.mp4")
    return [*names, f"{stem}{SUMMARY_SUFFIX}"]


def annotated_image_name(stem: str, image_suffix: str) -> str:
    # Never `<stem><suffix>`: with --output-dir beside the input that would be the input itself.
    return f"{stem}.annotated{image_suffix.lower()}"


def publish(staging: Path, url: str, names: list[str]) -> None:
    """Copy `names` from `staging` to `url`, each under a temporary name then moved into place."""
    fs, root = _filesystem(url)
    try:
        fs.makedirs(root, exist_ok=True)
        for name in names:
            local = staging / name
            if not local.is_file():
                continue  # e.g. no timeline when no face was tracked long enough
            final = f"{root.rstrip('/')}/{name}"
            temporary = f"{root.rstrip('/')}/.{name}.partial"
            fs.put_file(str(local), temporary)
            fs.mv(temporary, final)
    except OSError as error:
        raise OutputError(f"{url}: cannot write outputs ({error})") from error


def _read_text(location: str | Path, name: str) -> str | None:
    if is_url(location):
        fs, root = _filesystem(str(location))
        path = f"{root.rstrip('/')}/{name}"
        return fs.cat_file(path).decode() if fs.exists(path) else None
    path = Path(location) / name
    return path.read_text() if path.is_file() else None


def _exists(location: str | Path, name: str) -> bool:
    if is_url(location):
        fs, root = _filesystem(str(location))
        return fs.exists(f"{root.rstrip('/')}/{name}")
    return (Path(location) / name).is_file()


def outputs_complete(
    location: str | Path, stem: str, write_video: bool, image_suffix: str | None = None
) -> bool:
    """True when an earlier run finished this input: summary present, not interrupted, no
    decoding error, and the CSV (and mp4 when asked for) present."""
    try:
        text = _read_text(location, f"{stem}{SUMMARY_SUFFIX}")
        if text is None:
            return False
        summary = json.loads(text)
        if summary.get("interrupted") or summary.get("decode_error"):
            return False
        if image_suffix is not None:
            needed = output_names(stem, write_video, image_suffix)[:-1]
        else:
            needed = [f"{stem}.csv"] + ([f"{stem}.mp4"] if write_video else [])
        return all(_exists(location, name) for name in needed)
    except (OSError, ValueError):
        return False  # unreadable: treat as not done and process again
