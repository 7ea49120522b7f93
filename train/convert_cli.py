"""`fer-convert`: Keras -> ONNX FP32 / FP16 / INT8 (Q/DQ), each with its accuracy cost measured.

Lives in train/ because calibration and the accuracy check read labelled datasets; the
converters themselves are in engines/convert.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fer_live.engines.cli_support import run_cli, stderr_console

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)
TARGETS = ("onnx", "fp16", "int8", "tensorrt")


@app.command(help=__doc__)
def main(
    model: Annotated[str, typer.Argument(help="model name or artifact folder")],
    to: Annotated[str, typer.Option(help="onnx | fp16 | int8 | tensorrt")],
    calib_data: Annotated[
        Path | None, typer.Option(help="faces for INT8 calibration (its Training split is used)")
    ] = None,
    calib_size: Annotated[int, typer.Option(min=16, help="calibration faces")] = 1024,
    calib_method: Annotated[str, typer.Option(help="minmax | entropy | percentile")] = "minmax",
    int8_for: Annotated[
        str,
        typer.Option(
            help="cpu: UINT8 activations, fastest on ONNX Runtime x86 | tensorrt: symmetric "
            "INT8 activations, which TensorRT requires"
        ),
    ] = "cpu",
    eval_data: Annotated[
        Path | None, typer.Option(help="labelled faces to measure the accuracy cost on")
    ] = None,
    eval_split: Annotated[str, typer.Option(help="split of --eval-data")] = "PrivateTest",
    max_batch: Annotated[int, typer.Option(min=1, help="TensorRT profile: batch 1..N")] = 64,
    out: Annotated[
        Path | None, typer.Option(help="artifact folder to write (default: in place)")
    ] = None,
) -> None:
    def work() -> None:
        from fer_live.train.backend_choice import import_tensorflow_quietly

        import_tensorflow_quietly()
        from fer_live.train.conversion import convert_artifact

        result = convert_artifact(
            model,
            to,
            calib_data=calib_data,
            calib_size=calib_size,
            calib_method=calib_method,
            int8_for=int8_for,
            eval_data=eval_data,
            eval_split=eval_split,
            max_batch=max_batch,
            out=out,
        )
        console = stderr_console()
        console.print(f"wrote {result['path']}")
        if "accuracy" in result:
            console.print(
                f"{to}: accuracy {result['accuracy']:.4f} "
                f"(fp32 {result['reference_accuracy']:.4f}), top-1 agreement "
                f"{result['agreement']:.4f}, max |Δp| {result['max_abs_diff']:.4f}"
            )

    run_cli(work)
