"""Artifact folders: a model file beside its `spec.json`, its metrics and how it was made."""

from __future__ import annotations

import datetime
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from fer_live.engines.atomic import write_atomic, write_text_atomic
from fer_live.engines.errors import ModelFileError, OutputError
from fer_live.engines.spec import ModelSpec, save_spec

METRICS_FILE = "metrics.json"
INFO_FILE = "info.json"
KERAS_MODEL_FILE = "model.keras"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON under a unique temporary name and rename, so a reader never sees half a file.
    NaN and infinity are refused: they would make the file invalid JSON for other readers."""
    try:
        text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    except ValueError as error:
        raise OutputError(f"{path}: refusing to write a non-finite number ({error})") from error
    write_text_atomic(path, text)


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object file ({} when absent); a damaged or non-object file is one clear error."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelFileError(f"{path}: not readable JSON ({error})") from error
    if not isinstance(data, dict):
        raise ModelFileError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def save_keras_artifact(model: Any, spec: ModelSpec, folder: Path, info: dict[str, Any]) -> Path:
    write_atomic(folder / KERAS_MODEL_FILE, model.save)
    save_spec(spec, folder)
    write_json_atomic(folder / INFO_FILE, info)
    return folder


def invoked_command() -> str:
    """The command line this process was started with, as a user would type it again:
    `fer-eval --model ...` for a console script, `python -m module ...` for a module."""
    script = Path(sys.argv[0]).name
    if script.startswith("fer-"):
        return shlex.join([script, *sys.argv[1:]])
    original = list(getattr(sys, "orig_argv", sys.argv))
    if "-m" in original:
        return shlex.join(["python", *original[original.index("-m") :]])
    return shlex.join(["python", *sys.argv])


def record_metrics(folder: Path, key: str, metrics: dict[str, Any]) -> None:
    """Merge one measurement (e.g. "PrivateTest/onnxruntime/int8") into the folder's metrics,
    stamped with the command that produced it and when, so every number can be reproduced."""
    path = folder / METRICS_FILE
    data = read_json(path)
    data[key] = {
        **metrics,
        "command": invoked_command(),
        "recorded": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    write_json_atomic(path, data)
