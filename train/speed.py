"""Training speed of one architecture on this machine, for choosing backend and precision.

    python -m fer_live.train.speed --arch five_layer --backend tensorflow --precision mixed_bfloat16
    python -m fer_live.train.speed --arch compact_resnet --engine torch --precision mixed_bfloat16

Fits random 48×48 faces (content does not change the cost) for one untimed warm-up pass and one
timed pass of `--images` images; prints images per second. Run one configuration per process:
the Keras backend is fixed when Keras is first imported. `--engine torch` times `fer-train
--engine torch`'s steps instead (the torch twin, its batch augmentation, SGD, bfloat16 autocast
for mixed_bfloat16); --backend does not apply there.
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
    engine: Annotated[str, typer.Option(help="keras or torch (fer-train --engine)")] = "keras",
) -> None:
    if engine == "torch":
        rate = _torch_twin_rate(arch, precision == "mixed_bfloat16", batch, images)
        print(f"{arch} torch twin {precision} batch {batch}: {rate:.1f} images/s")
        return
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


def _torch_twin_rate(arch: str, bfloat16: bool, batch: int, images: int) -> float:
    import numpy as np
    import torch

    from fer_live.train.torch_fit import TorchRecipe, augment
    from fer_live.train.torch_nets import build_torch_twin

    twin = build_torch_twin(arch).to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(twin.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    faces = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (batch, 48, 48), np.uint8))
    labels = torch.arange(batch) % 7
    generator, recipe = torch.Generator().manual_seed(0), TorchRecipe()

    def step() -> None:
        x = augment(faces, generator, recipe, twin.input_size)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            logits = twin(x.contiguous(memory_format=torch.channels_last))
        loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(2):
        step()
    steps = max(1, images // batch)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - started)


if __name__ == "__main__":
    app()
