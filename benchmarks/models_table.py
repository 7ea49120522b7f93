"""The README's table of shipped models, printed from their `metrics.json` files.

    python -m fer_live.benchmarks.models_table [--split PrivateTest] [--batch 32]

Every number comes from an entry that `fer-eval --record` or `fer-bench --record` wrote, so the
table can be rebuilt whenever a model changes and each cell can be traced to the command stored
beside it. A cell whose measurement is missing shows "—". "ms per face" is fer-bench's p50 at
--batch (default 32), one pass, in the precision --precision auto runs (INT8 where shipped);
an ensemble's is timed whole (members, combination and the preprocessing of each input size).
"""

from __future__ import annotations

from typing import Annotated

import typer

from fer_live.engines.artifacts import METRICS_FILE, read_json
from fer_live.engines.store import SHIPPED_DIR, available_names, resolve_model

COLUMNS = (
    "name",
    "parameters",
    "accuracy one pass",
    "macro-F1 one pass",
    "balanced accuracy one pass",
    "accuracy flip",
    "macro-F1 flip",
    "accuracy default",
    "ms per face",
    "runs",
)


def _accuracy_entry(metrics: dict, split: str, flip: str) -> dict | None:
    """The runtime's figures (ONNX Runtime; INT8 where measured, as --precision auto prefers)
    of one flip setting: "off", "on" or "mixed"."""
    found = {}
    for key, value in metrics.items():
        parts = key.split("/")
        if parts[0] != split or len(parts) < 4 or parts[2] != "onnxruntime":
            continue
        if (parts[4] if len(parts) > 4 else "flip-off") == f"flip-{flip}":
            found[parts[3]] = value
    preferred = sorted(found, key=lambda precision: "int8" not in precision)
    return found[preferred[0]] if preferred else None


def _cell(entry: dict | None, field: str) -> str:
    return "—" if entry is None or field not in entry else f"{entry[field]:.4f}"


def model_row(name: str, split: str, batch: int) -> dict[str, str]:
    artifact = resolve_model(name, "auto")
    metrics = read_json(artifact.folder / METRICS_FILE)
    one_pass = _accuracy_entry(metrics, split, "off")
    flipped = _accuracy_entry(metrics, split, "on")
    default = _accuracy_entry(metrics, split, _default_flip(artifact))
    per_face = _speed(metrics, batch)
    parameters = metrics.get("parameters", {}).get("parameters")
    return {
        "name": f"`{name}`",
        "parameters": "—" if parameters is None else f"{parameters / 1e6:.1f} M",
        "accuracy one pass": _cell(one_pass, "accuracy"),
        "macro-F1 one pass": _cell(one_pass, "macro_f1"),
        "balanced accuracy one pass": _cell(one_pass, "macro_recall"),
        "accuracy flip": _cell(flipped, "accuracy"),
        "macro-F1 flip": _cell(flipped, "macro_f1"),
        "accuracy default": _cell(default, "accuracy"),
        "ms per face": "—" if per_face is None else f"{per_face:.2f}",
        "runs": (one_pass or {}).get("precision", "—")
        if artifact.kind != "ensemble"
        else ", ".join(m.name for m in artifact.members),
    }


def _default_flip(artifact) -> str:
    """What --flip auto runs: each model's own spec setting ("mixed" when members differ)."""
    from fer_live.engines.spec import load_spec

    members = artifact.members if artifact.kind == "ensemble" else (artifact,)
    flips = {load_spec(member.folder).test_time_flip for member in members}
    return "mixed" if len(flips) > 1 else ("on" if flips == {True} else "off")


def _speed(metrics: dict, batch: int) -> float | None:
    """One pass per face at `batch`, in what --precision auto runs: INT8 where shipped, else
    FP32; an ensemble's mixed precisions ("fp32,int8") as timed whole."""
    timed = {
        key.split("/")[2]: entry
        for key, entry in metrics.items()
        if key.startswith("speed/onnxruntime/") and key.endswith(f"/batch{batch}")
    }
    for precision in ("int8", *sorted(timed)):
        if precision in timed:
            return timed[precision]["per_face_ms"]
    return None


app = typer.Typer(add_completion=False, rich_markup_mode=None)


@app.command(help=__doc__)
def main(
    split: Annotated[str, typer.Option(help="the split whose figures are shown")] = "PrivateTest",
    batch: Annotated[int, typer.Option(help="the batch size of the per-face time")] = 32,
) -> None:
    shipped = [n for n in available_names() if (SHIPPED_DIR / n).is_dir()]
    rows = [model_row(name, split, batch) for name in shipped]
    print("| " + " | ".join(COLUMNS) + " |")
    print("|---|" + "---:|" * (len(COLUMNS) - 2) + "---|")
    for row in rows:
        print("| " + " | ".join(row[column] for column in COLUMNS) + " |")


if __name__ == "__main__":
    app()
