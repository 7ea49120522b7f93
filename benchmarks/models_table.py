"""The README's table of shipped models, printed from their `metrics.json` files.

    python -m fer_live.benchmarks.models_table [--split PrivateTest] [--batch 32]

Every number comes from an entry that `fer-eval --record` or `fer-bench --record` wrote, so the
table can be rebuilt whenever a model changes and each cell can be traced to the command stored
beside it. A cell whose measurement is missing shows "—". "ms per face" is fer-bench's p50 at
--batch (default 32), one pass, in the precision --precision auto runs (INT8 where shipped);
an ensemble's is timed whole (members, combination and the preprocessing of each input size).
"training" and "training hours" come from the model's `info.json` (written by fer-train): the
recipe and starting point of its last run, and the wall-clock hours of every epoch that made it,
earlier runs it continued (`lineage`) included, on the 2-core CPU its `info.json` names.
"""

from __future__ import annotations

from typing import Annotated

import typer

from fer_live.engines.artifacts import INFO_FILE, METRICS_FILE, read_json
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
    "training",
    "training hours",
)
TEXT_COLUMNS = {"name", "runs", "training"}  # left-aligned; the rest are figures


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
        **_training_cells(artifact.folder / INFO_FILE),
    }


def _training_cells(info_path) -> dict[str, str]:
    """How the network was trained, from fer-train's info.json ("—" for ensembles, which are
    assembled, not trained)."""
    if not info_path.is_file():
        return {"training": "—", "training hours": "—"}
    info = read_json(info_path)
    if "trunk" in info:  # fer-assemble ovr: heads on a trained network's frozen features
        return {"training": "one-vs-rest heads on a trained network's frozen features",
                "training hours": "—"}
    recipe = f"`{info['recipe']}`" + (" (torch engine)" if info.get("engine") == "torch" else "")
    imagenet = info.get("backbone_weights") == "imagenet" or (  # older files: only the command
        "--backbone-weights imagenet" in info.get("command", "")
    )
    start = ("ImageNet weights" if imagenet
             else "a trained model" if info.get("init_from") else "scratch")
    described = f"{recipe}, {info.get('epochs', '?')} epochs from {start}"
    if info.get("distillation"):
        described += f", distilled from `{info['distillation']['teacher']}`"
    runs = [*info.get("lineage", []), info]
    seconds = sum(sum(run.get("epoch_seconds", [])) for run in runs)
    return {
        "training": described + (f" ({len(runs)} runs)" if len(runs) > 1 else ""),
        "training hours": f"{seconds / 3600:.1f}" if seconds else "—",
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
    print("|" + "".join("---|" if column in TEXT_COLUMNS else "---:|" for column in COLUMNS))
    for row in rows:
        print("| " + " | ".join(row[column] for column in COLUMNS) + " |")


if __name__ == "__main__":
    app()
