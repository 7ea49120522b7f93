"""`fer-bench`: how fast each model, mode, backend, precision and batch runs on this machine."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Annotated

import typer

from fer_live.engines.cli_support import run_cli, stderr_console
from fer_live.engines.errors import InputFileError, UsageError
from fer_live.engines.store import DEFAULT_MODEL, RUNTIME_FLIP

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fer2013.npz"


# ONNX Runtime fails to allocate far beyond this for the 224×224 models; timing larger is no use.
MAX_BATCH = 4096


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _batch_sizes(value: str) -> list[int]:
    """--batch as positive integers up to MAX_BATCH, or one UsageError line."""
    sizes = []
    for part in _split(value):
        if not part.isdigit() or not 1 <= int(part) <= MAX_BATCH:
            raise UsageError(f"--batch {value}: '{part}' is not a batch size in 1..{MAX_BATCH}")
        sizes.append(int(part))
    if not sizes:
        raise UsageError("--batch: give at least one batch size, e.g. 1,8,32")
    return sizes


def _earlier_rows(path: Path) -> list[dict]:
    """The rows of an earlier --json report, or one InputFileError line."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8")).get("rows", [])
    except (OSError, UnicodeDecodeError, ValueError, AttributeError) as error:
        raise InputFileError(f"{path}: not a fer-bench --json report ({error})") from error
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise InputFileError(f"{path}: not a fer-bench --json report (rows is not a list)")
    return rows


@app.command(help=__doc__)
def main(
    model: Annotated[list[str], typer.Option(help="model(s); repeat or comma-separate")] = [  # noqa: B006
        DEFAULT_MODEL
    ],
    mode: Annotated[str, typer.Option(help="auto | single | ensemble | ovr")] = "auto",
    backend: Annotated[
        str, typer.Option(help="comma list: onnxruntime,keras,tensorrt")
    ] = "onnxruntime",
    precision: Annotated[str, typer.Option(help="comma list: fp32,fp16,int8")] = "fp32,int8",
    batch: Annotated[str, typer.Option(help="comma list of batch sizes")] = "1,8,32",
    flip: Annotated[
        str | None,
        typer.Option(
            help="comma list of auto (the model's setting), unsure, on, off: mirror-image TTA "
            "(default: auto; with --video the runtime's default, unsure)"
        ),
    ] = None,
    protocol: Annotated[
        str | None, typer.Option(help="paper: 1,000 images in batches of 32")
    ] = None,
    paper_repeats: Annotated[int, typer.Option(min=1, help="passes for --protocol paper")] = 50,
    video: Annotated[
        Path | None, typer.Option(help="benchmark the whole pipeline on a video")
    ] = None,
    data: Annotated[Path | None, typer.Option(help="FER2013 npz for real faces")] = None,
    warmup: Annotated[int, typer.Option(min=0)] = 5,
    iters: Annotated[int, typer.Option(min=1)] = 30,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="write rows + header here")
    ] = None,
    compare: Annotated[Path | None, typer.Option(help="an earlier --json to compare with")] = None,
    record: Annotated[
        bool,
        typer.Option(help="also store each timing and the parameter count in the model's folder"),
    ] = False,
) -> None:
    def work() -> None:
        from fer_live.benchmarks.machine import machine_header
        from fer_live.benchmarks.report import print_rows
        from fer_live.benchmarks.stats import compare_rows

        models = [m for value in model for m in _split(value)]
        earlier = _earlier_rows(compare) if compare is not None else None  # before any timing
        rows: list[dict] = []
        if video is not None:
            from fer_live.benchmarks.pipeline import bench_video
            from fer_live.realtime.sources import open_source

            open_source(str(video)).close()  # a missing/corrupt video fails before any timing
            rows += bench_video(
                video,
                models[0],
                mode,
                _split(backend)[0],
                (_split(precision) or ["auto"])[-1],
                flip=(_split(flip) or [RUNTIME_FLIP])[0],
            )
        else:
            from fer_live.benchmarks.classifier import (
                ClassifierCase,
                load_faces,
                paper_protocol,
                time_case,
            )

            faces, source = load_faces(data or (DEFAULT_DATA if DEFAULT_DATA.is_file() else None))
            batches = _batch_sizes(batch)
            flips = _split(flip) or ["auto"]
            cases = itertools.product(models, _split(backend), _split(precision), flips)
            for name, back, prec, flip_choice in cases:
                if protocol == "paper":
                    rows.append(
                        paper_protocol(
                            ClassifierCase(name, mode, back, prec, 32, flip_choice),
                            faces,
                            paper_repeats,
                        )
                    )
                    continue
                for size in batches:
                    rows.append(
                        {
                            **time_case(
                                ClassifierCase(name, mode, back, prec, size, flip_choice),
                                faces,
                                warmup,
                                iters,
                            ),
                            "faces": source,
                        }
                    )
        print_rows(rows)
        if json_path is not None:
            from fer_live.engines.artifacts import write_json_atomic

            write_json_atomic(json_path, {"header": machine_header(), "rows": rows})
        if record:
            from fer_live.benchmarks.record import record_rows

            written = record_rows(rows)
            stderr_console().print(f"recorded in the metrics of: {', '.join(written) or 'none'}")
        if earlier is not None:
            print_rows(compare_rows(earlier, rows), title=f"compared with {compare}")
        if rows and all("skipped" in row for row in rows):
            stderr_console().print("error: every case was skipped (see the table)")
            raise typer.Exit(2)

    run_cli(work)
