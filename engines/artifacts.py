"""Artifact folders: a model file beside its `spec.json`, its metrics and how it was made."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engines.errors import OutputError
from engines.spec import ModelSpec, save_spec

METRICS_FILE = "metrics.json"
INFO_FILE = "info.json"
KERAS_MODEL_FILE = "model.keras"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON under a temporary name and rename, so a reader never sees half a file."""
    tmp = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write ({error.strerror or error})") from error


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def save_keras_artifact(model: Any, spec: ModelSpec, folder: Path, info: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (KERAS_MODEL_FILE + ".partial.keras")
    model.save(tmp)
    os.replace(tmp, folder / KERAS_MODEL_FILE)
    save_spec(spec, folder)
    write_json_atomic(folder / INFO_FILE, info)
    return folder


def record_metrics(folder: Path, key: str, metrics: dict[str, Any]) -> None:
    """Merge one measurement (e.g. "PrivateTest/onnxruntime/int8") into the folder's metrics."""
    path = folder / METRICS_FILE
    data = read_json(path)
    data[key] = metrics
    write_json_atomic(path, data)
