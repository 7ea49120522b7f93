"""Moving a `fer-train --engine torch` run to a lent GPU machine and back (train/GPU.md).

That machine takes at most 64 MiB of working tree per call and returns at most 8 files of
16 MiB, 64 MiB in all; it has PyTorch but no Keras. So:

- `pack` (here): the FER2013 faces as lossless WebP (the 35,887 faces' 82.7 MB of pixels as
  58.0 MiB; fer2013.npz is 78.7 MB and zlib gains about 5% on these pixels) plus the run
  folder's cached teacher outputs, into one folder to `carry`;
- `unpack` (there): the faces back into an npz that `fer-train --data` reads, bit for bit;
- `export` (there, after training): the best averaged weights of the run folder as float16
  (1-D tensors stay float32) cut into parts under the size limit, with the history;
- `import` (here): those parts back into the run folder as the checkpoint of a finished run,
  so the same `fer-train` command plus `--resume` trains nothing more and writes the artifact.

    python -m fer_live.train.gpu_bundle pack --data ../shared/data/fer2013.npz --out .gpu \
        --teacher-cache RUN/teacher-NAME-HASH.npy
    python -m fer_live.train.gpu_bundle unpack .gpu --out /tmp/fer2013.npz          # there
    python -m fer_live.train.gpu_bundle export /tmp/run --out $OUT                  # there
    python -m fer_live.train.gpu_bundle import FILES_AT --run-dir RUN --arch A --recipe R
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from fer_live.engines.cli_support import run_cli
from fer_live.engines.errors import UsageError
from fer_live.train.datasets import USAGES
from fer_live.train.torch_fit import (
    BEST,
    HISTORY,
    get_torch_recipe,
    new_optimizer,
    save_best,
    save_checkpoint,
)

FACES = "faces.npz"
MANIFEST = "weights.json"
PART = "weights.part{}.bin"
PART_BYTES = 15 * 2**20  # under the 16 MiB a returned file may have
WEBP_LOSSLESS = 101  # OpenCV: a WebP quality above 100 selects lossless coding


def pack_faces(data: Path, out: Path) -> int:
    """Every face of fer2013.npz as lossless WebP bytes, end to end, with offsets; returns the
    file's size. Plain arrays only (no pickle), like the input."""
    import cv2

    source = np.load(data)
    images = source["images"]
    encoded = []
    for face in images:
        ok, buffer = cv2.imencode(".webp", face, [cv2.IMWRITE_WEBP_QUALITY, WEBP_LOSSLESS])
        if not ok:
            raise UsageError(f"{data}: OpenCV cannot encode WebP here")
        encoded.append(buffer.ravel())
    offsets = np.cumsum([0, *(len(chunk) for chunk in encoded)]).astype(np.int64)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(
        out / FACES,
        webp=np.concatenate(encoded),
        offsets=offsets,
        shape=np.asarray(images.shape[1:]),
        labels=source["labels"],
        usage=source["usage"],
        label_names=source["label_names"],
    )
    return (out / FACES).stat().st_size


def unpack_faces(bundle: Path, out: Path) -> int:
    """The packed faces back into an npz with images, labels, usage and label_names."""
    import cv2

    packed = np.load(bundle / FACES)
    webp, offsets = packed["webp"], packed["offsets"]
    images = np.empty((len(offsets) - 1, *packed["shape"]), dtype=np.uint8)
    for index in range(len(images)):
        images[index] = cv2.imdecode(webp[offsets[index] : offsets[index + 1]],
                                     cv2.IMREAD_GRAYSCALE)
    np.savez(out, images=images, labels=packed["labels"], usage=packed["usage"],
             label_names=packed["label_names"])
    return len(images)


def export_run(run_dir: Path, out: Path) -> list[Path]:
    """The run's best averaged weights (torch_best.pt) and history, in returnable parts."""
    import torch

    best = torch.load(run_dir / BEST, weights_only=False, map_location="cpu")
    tensors, blobs, offset = [], [], 0
    for name, tensor in best["ema"].items():
        array = tensor.detach().cpu().numpy()
        if array.ndim > 1:  # kernels: float16 halves the size; biases and BN stay exact
            array = array.astype(np.float16)
        blob = np.ascontiguousarray(array).tobytes()
        tensors.append({"name": name, "dtype": str(array.dtype), "shape": list(array.shape),
                        "offset": offset, "bytes": len(blob)})
        blobs.append(blob)
        offset += len(blob)
    payload = b"".join(blobs)
    out.mkdir(parents=True, exist_ok=True)
    parts = []
    for index, start in enumerate(range(0, len(payload), PART_BYTES)):
        part = out / PART.format(index)
        part.write_bytes(payload[start : start + PART_BYTES])
        parts.append(part)
    manifest = {"best_epoch": best["epoch"], "parts": len(parts), "tensors": tensors}
    (out / MANIFEST).write_text(json.dumps(manifest))
    shutil.copyfile(run_dir / HISTORY, out / HISTORY)
    return [*parts, out / MANIFEST, out / HISTORY]


def import_run(bundle: Path, run_dir: Path, architecture: str, recipe_name: str,
               epochs: int | None) -> int:
    """Write the run folder of a finished run from `export`'s files: torch_best.pt and a
    torch_last.pt at the last epoch (its optimizer state fresh: nothing is left to train).
    Returns the number of epochs the history holds."""
    import torch

    from fer_live.train.torch_nets import build_torch_twin

    manifest_file = bundle / MANIFEST
    if not manifest_file.is_file():
        raise UsageError(f"{bundle}: no {MANIFEST} (not a folder written by export)")
    manifest = json.loads(manifest_file.read_text())
    parts = [bundle / PART.format(index) for index in range(manifest["parts"])]
    missing = [part.name for part in parts if not part.is_file()]
    if missing:
        raise UsageError(f"{bundle}: missing {', '.join(missing)}")
    payload = b"".join(part.read_bytes() for part in parts)
    history = json.loads((bundle / HISTORY).read_text())
    recipe = get_torch_recipe(recipe_name)
    if epochs is not None:
        recipe = replace(recipe, epochs=epochs)
    if len(history) != recipe.epochs:
        raise UsageError(
            f"{bundle}: the run trained {len(history)} epochs, the recipe has {recipe.epochs}",
            hint="pass the --epochs the run was trained with",
        )
    twin = build_torch_twin(architecture)
    expected = twin.state_dict()
    state = {}
    for entry in manifest["tensors"]:
        if entry["name"] not in expected:
            raise UsageError(f"{bundle}: {entry['name']} is not a tensor of {architecture}")
        chunk = payload[entry["offset"] : entry["offset"] + entry["bytes"]]
        array = np.frombuffer(chunk, dtype=entry["dtype"]).reshape(entry["shape"])
        state[entry["name"]] = torch.from_numpy(array.copy()).to(expected[entry["name"]].dtype)
    twin.load_state_dict(state)  # strict: every tensor of the architecture, nothing else
    optimizer = new_optimizer(twin, recipe)  # fresh: no epoch is left to train
    run_dir.mkdir(parents=True, exist_ok=True)
    save_best(run_dir, state, manifest["best_epoch"])
    save_checkpoint(run_dir, state, state, optimizer.state_dict(), history, recipe)
    return len(history)


app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command()
def pack(
    data: Annotated[Path, typer.Option(help="fer2013.npz")],
    out: Annotated[Path, typer.Option(help="folder to carry (ignored by git)")],
    teacher_cache: Annotated[
        Path | None, typer.Option(help="a run folder's teacher-NAME-HASH.npy to send along")
    ] = None,
) -> None:
    """Here: the faces (and the teacher's cached outputs) into a folder to carry."""

    def work() -> None:
        if not data.is_file():
            raise UsageError(f"{data}: no such file")
        if teacher_cache is not None and not teacher_cache.is_file():
            raise UsageError(f"{teacher_cache}: no such file")
        size = pack_faces(data, out)
        if teacher_cache is not None:
            shutil.copyfile(teacher_cache, out / teacher_cache.name)
        typer.echo(f"{out / FACES}: {size / 2**20:.1f} MiB (faces of {', '.join(USAGES)})")

    run_cli(work)


@app.command()
def unpack(
    bundle: Annotated[Path, typer.Argument(help="the carried folder")],
    out: Annotated[Path, typer.Option(help="npz to write")],
) -> None:
    """There: the faces back into an npz for fer-train --data."""
    run_cli(lambda: typer.echo(f"{out}: {unpack_faces(bundle, out)} faces"))


@app.command("export")
def export_command(
    run_dir: Annotated[Path, typer.Argument(help="the run folder (--run-dir)")],
    out: Annotated[Path, typer.Option(help="$OUT")],
) -> None:
    """There: the best weights and history in files the machine can return."""

    def work() -> None:
        for path in export_run(run_dir, out):
            typer.echo(f"{path}: {path.stat().st_size / 2**20:.1f} MiB")

    run_cli(work)


@app.command("import")
def import_command(
    bundle: Annotated[Path, typer.Argument(help="the returned files (files_at)")],
    run_dir: Annotated[Path, typer.Option(help="run folder to write")],
    arch: Annotated[str, typer.Option(help="the architecture trained")],
    recipe: Annotated[str, typer.Option(help="the torch-engine recipe trained")],
    epochs: Annotated[int | None, typer.Option(help="--epochs, if the run overrode it")] = None,
) -> None:
    """Here: a finished run folder; then the training command plus --resume writes the model."""

    def work() -> None:
        trained = import_run(bundle, run_dir, arch, recipe, epochs)
        typer.echo(f"{run_dir}: {trained} epochs; now the same fer-train command with --resume")

    run_cli(work)


if __name__ == "__main__":
    app()
