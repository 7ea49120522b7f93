"""`fer-eval`: accuracy, macro and per-class precision/recall/F1 and the confusion matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fer_live.engines import cli_options as model_opt
from fer_live.engines.cli_support import run_cli, stderr_console
from fer_live.engines.store import DEFAULT_MODEL

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command(help=__doc__)
def main(
    data: Annotated[Path, typer.Option(help="fer2013.npz, fer2013.csv or an image folder")],
    model: model_opt.Model = DEFAULT_MODEL,
    mode: model_opt.Mode = "auto",
    backend: model_opt.Backend = "auto",
    precision: model_opt.Precision = "auto",
    flip: model_opt.Flip = "auto",
    split: Annotated[
        str,
        typer.Option(
            help="auto (PrivateTest where the data has a usage column, else every face) | "
            "Training | PublicTest | PrivateTest | all"
        ),
    ] = "auto",
    json_path: Annotated[
        Path | None,
        typer.Option(
            "--json", help="write the metrics here (and the confusion matrix PNG beside it)"
        ),
    ] = None,
    record: Annotated[
        bool, typer.Option(help="also store the metrics in the model's folder")
    ] = False,
) -> None:
    def work() -> None:
        from fer_live.engines.artifacts import record_metrics, write_json_atomic
        from fer_live.engines.store import resolve_model
        from fer_live.train.evaluate import evaluate, save_confusion_png

        report = evaluate(model, data, split, mode, backend, precision, flip)
        console = stderr_console()
        console.print(
            f"{model} ({report['mode']}, {report['backend']}/{report['precision']}"
            f"{', flip' if report['flip'] != 'off' else ''}) on {report['split']}: "
            f"accuracy {report['accuracy']:.4f}, macro-F1 {report['macro_f1']:.4f}, "
            f"n={report['n']}"
        )
        if json_path is not None:
            write_json_atomic(json_path, report)
            save_confusion_png(report, json_path.with_suffix(".confusion.png"))
        if record:
            folder = resolve_model(model, mode).folder
            key = f"{report['split']}/{report['mode']}/{report['backend']}/{report['precision']}"
            if report["flip"] != "off":  # keys without a suffix stay single-pass numbers
                key += f"/flip-{report['flip']}"
            record_metrics(folder, key, report)

    run_cli(work)
