"""fer-eval's job: a model (any mode, backend, precision) on a labelled split -> metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fer_live.engines.atomic import write_atomic
from fer_live.engines.errors import InputFileError, UnknownNameError
from fer_live.engines.model import FerModel
from fer_live.train.datasets import USAGES, FaceSet, load_faces
from fer_live.train.metrics import classification_report


def resolve_split(faces: FaceSet, split: str) -> str:
    """"auto": PrivateTest where the data has a usage column (FER2013), else every face (a set
    from another source, kept for evaluation only: an npz without usage, a <class>/ folder)."""
    if split != "auto":
        return split
    return "PrivateTest" if any(str(u) for u in faces.usage) else "all"


def select_split(faces: FaceSet, split: str) -> FaceSet:
    """The faces of one split; an empty result is an error, never "accuracy 0.0000, n=0"."""
    if split not in (*USAGES, "all"):
        raise UnknownNameError("split", split, ("auto", *USAGES, "all"))
    chosen = faces if split == "all" else faces.subset(faces.usage == split)
    if not len(chosen):
        present = sorted({str(u) for u in faces.usage if u})
        raise InputFileError(
            f"{faces.source}: no faces in split '{split}'"
            + (f" (it has: {', '.join(present)})" if present else " (it has no usage column)"),
            hint="--split all evaluates every face" if len(faces) else None,
        )
    return chosen


def predict_faces(model: FerModel, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """N×7 probabilities for gray 48×48 faces, in batches (memory stays small for 224 models)."""
    chunks = [
        model.predict_crops(images[start : start + batch_size]).probs
        for start in range(0, len(images), batch_size)
    ]
    return np.concatenate(chunks) if chunks else np.zeros((0, 7), np.float32)


def evaluate(
    model_name: str,
    data: Path,
    split: str = "auto",
    mode: str = "single",
    backend: str = "auto",
    precision: str = "auto",
    flip: str = "auto",
) -> dict[str, Any]:
    faces = load_faces(data, load_votes=False)
    split = resolve_split(faces, split)
    faces = select_split(faces, split)
    with FerModel.open(model_name, mode, backend, precision, flip) as model:
        probs = predict_faces(model, faces.images)
        report = classification_report(faces.labels, probs.argmax(axis=1))
        report.update(
            model=model_name,
            mode=model.kind,
            backend=model.backend_names,
            precision=model.precisions,
            flip=model.flip_state,
            split=split,
            data=str(data),
        )
    return report


def save_confusion_png(report: dict[str, Any], path: Path) -> Path:
    """Row-normalised confusion matrix (recall per true class) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.array(report["confusion"], dtype=np.float64)
    normalised = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    labels = report["labels"]
    figure, axes = plt.subplots(figsize=(6.5, 5.5))
    image = axes.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    for i in range(len(labels)):
        for j in range(len(labels)):
            color = "white" if normalised[i, j] > 0.5 else "black"
            axes.text(
                j, i, f"{normalised[i, j]:.2f}", ha="center", va="center", fontsize=8, color=color
            )
    axes.set_title(
        f"{report.get('model', '')} {report.get('mode', '')}: "
        f"acc {report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f}"
    )
    figure.colorbar(image)
    figure.tight_layout()
    try:
        write_atomic(path, lambda temporary: figure.savefig(temporary, dpi=120))
    finally:
        plt.close(figure)
    return path
