"""`fer-train`: train one architecture on one dataset variant into an artifact folder."""

from __future__ import annotations

import logging
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from fer_live.engines.cli_support import run_cli
from fer_live.train.backend_choice import choose_training_backend, import_tensorflow_quietly

HELP = "Train a FER model (paper §4) into an artifact folder."
app = typer.Typer(add_completion=False, help=HELP, rich_markup_mode=None)


@app.command(help=HELP)
def main(
    architecture: Annotated[str, typer.Option("--arch", help="five_layer, six_layer, vgg16, ...")],
    data: Annotated[Path, typer.Option(help="fer2013.npz, fer2013.csv or an image folder")],
    out: Annotated[Path, typer.Option(help="artifact folder to write")],
    run_dir: Annotated[
        Path | None, typer.Option(help="checkpoints (default: OUT/run); keep outside the repo")
    ] = None,
    variant: Annotated[str, typer.Option(help="original, filtered, balanced, ...")] = "original",
    recipe: Annotated[
        str,
        typer.Option(
            help="paper, cpu or compact; fast, fast_transfer or fast_finetune with --engine torch"
        ),
    ] = "cpu",
    engine: Annotated[
        str,
        typer.Option(
            help="keras, or torch: a PyTorch twin (compact_resnet, efficientnet_lite0, "
            "five_layer, six_layer), about twice as fast on a CPU (--recipe fast, or "
            "fast_transfer)"
        ),
    ] = "keras",
    epochs: Annotated[
        int | None, typer.Option(min=1, help="override the recipe's epochs")
    ] = None,
    learning_rate: Annotated[
        float | None, typer.Option(help="peak learning rate (default: the recipe's)")
    ] = None,
    init_from: Annotated[
        Path | None,
        typer.Option(help="start from this trained artifact's weights (a new schedule)"),
    ] = None,
    teacher: Annotated[
        str | None,
        typer.Option(help="distil from this shipped model or ensemble's soft outputs"),
    ] = None,
    temperature: Annotated[
        float, typer.Option(help="--teacher: softmax temperature of both distributions")
    ] = 4.0,
    distill_alpha: Annotated[
        float, typer.Option(help="--teacher: weight of the teacher term (1 - it: the labels)")
    ] = 0.7,
    precision: Annotated[
        str,
        typer.Option(help="auto (bfloat16 where the CPU has it natively), float32, mixed_bfloat16"),
    ] = "auto",
    positive: Annotated[
        str | None, typer.Option(help="train a binary one-vs-rest model for this emotion")
    ] = None,
    split_scheme: Annotated[str, typer.Option(help="official or random (80/10/10)")] = "official",
    backbone_weights: Annotated[str, typer.Option(help="imagenet, none or a file")] = "none",
    resume: Annotated[bool, typer.Option(help="continue from the run folder's checkpoint")] = False,
    max_steps: Annotated[int | None, typer.Option(help="steps per epoch (smoke tests)")] = None,
    limit: Annotated[
        int | None, typer.Option(help="use only N rows per split (smoke tests)")
    ] = None,
    seed: int = 1234,
) -> None:
    def work() -> None:
        choose_training_backend()
        import_tensorflow_quietly()
        from fer_live.train.distill import Distillation
        from fer_live.train.pipeline import train_to_artifact

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
        train_to_artifact(
            architecture=architecture,
            data=data,
            out=out,
            run_dir=run_dir or out / "run",
            variant=variant,
            recipe_name=recipe,
            precision=precision,
            learning_rate=learning_rate,
            init_from=init_from,
            distillation=Distillation(teacher, temperature, distill_alpha) if teacher else None,
            epochs=epochs,
            positive=positive,
            split_scheme=split_scheme,
            backbone_weights=backbone_weights,
            resume=resume,
            max_steps=max_steps,
            limit=limit,
            seed=seed,
            command=shlex.join(["fer-train", *sys.argv[1:]]),
            engine=engine,
        )

    run_cli(work)
