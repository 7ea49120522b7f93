"""Training speed of one architecture on this machine, for choosing backend and precision.

    python -m fer_live.train.speed --arch five_layer --backend tensorflow --precision mixed_bfloat16

Fits random 48×48 faces (content does not change the cost) for one untimed warm-up pass and one
timed pass of `--images` images; prints images per second. Run one configuration per process:
the Keras backend is fixed when Keras is first imported.
"""

from __future__ import annotations

import os
import time
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command(help=__doc__)
def main(
    arch: str = "five_layer",
    backend: Annotated[str, typer.Option(help="tensorflow or torch")] = "tensorflow",
    precision: Annotated[str, typer.Option(help="float32 or mixed_bfloat16")] = "float32",
    batch: int = 64,
    images: int = 768,
) -> None:
    os.environ["KERAS_BACKEND"] = backend
    import keras
    import numpy as np

    from fer_live.train.architectures import build_model, get_architecture

    if precision != "float32":
        keras.mixed_precision.set_global_policy(precision)
    model = build_model(arch)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    shape = get_architecture(arch).spec.input_shape
    faces = rng.random((images, *shape), dtype=np.float32)
    labels = rng.integers(0, 7, images)
    model.fit(faces[: 2 * batch], labels[: 2 * batch], batch_size=batch, epochs=1, verbose=0)
    started = time.perf_counter()
    model.fit(faces, labels, batch_size=batch, epochs=1, verbose=0)
    rate = images / (time.perf_counter() - started)
    print(f"{arch} {backend} {precision} batch {batch}: {rate:.1f} images/s")


if __name__ == "__main__":
    app()
