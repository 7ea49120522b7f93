"""Which shipped networks make the best ensemble: every subset of the candidates, on the
validation split (choose there, report PrivateTest with `fer-eval` afterwards).

    python -m fer_live.benchmarks.ensemble_search \
        --members five_layer,six_layer,compact_resnet,efficientnet_lite0,five_layer_ovr

Each candidate runs once with and once without mirror-image averaging over the split's faces
(`FerModel.predict_crops`, the code `fer-eval` uses); every subset of two or more is then scored
as the ensemble mean (engines.combine.ensemble_mean, what a `members.json` ensemble computes)
with the mirror off for all members, on for all, and each member's own setting (`--flip auto`).
Printed: the best subsets by accuracy with macro-F1, and for each candidate the best subset
without it (what leaving it out costs).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from fer_live.engines.cli_support import run_cli

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fer2013.npz"
FLIP_SETTINGS = ("off", "on", "auto")
BATCH = 256


@dataclass(frozen=True)
class Scored:
    members: tuple[str, ...]
    flip: str  # off | on | auto (each member's own setting)
    accuracy: float
    macro_f1: float


def member_outputs(name: str, faces: np.ndarray) -> dict[str, np.ndarray]:
    """N×7 probabilities of one shipped network with the mirror off, on and as it ships."""
    from fer_live.engines.model import FerModel

    def predict(model: FerModel) -> np.ndarray:
        parts = [
            model.predict_crops(faces[start : start + BATCH]).probs
            for start in range(0, len(faces), BATCH)
        ]
        return np.concatenate(parts)

    with FerModel.open(name, mode="auto") as model:  # as it ships
        own = "on" if model.flip_state == "on" else "off"
        outputs = {own: predict(model)}
    other = "off" if own == "on" else "on"
    with FerModel.open(name, mode="auto", flip=other) as model:
        outputs[other] = predict(model)
    outputs["auto"] = outputs[own]
    return outputs


def score_subsets(outputs: dict[str, dict[str, np.ndarray]], labels: np.ndarray) -> list[Scored]:
    """Every subset of two or more members, each flip setting, best accuracy first."""
    from fer_live.engines.combine import ensemble_mean
    from fer_live.train.metrics import classification_report

    scored = []
    names = sorted(outputs)
    for size in range(2, len(names) + 1):
        for members in itertools.combinations(names, size):
            for flip in FLIP_SETTINGS:
                probs = ensemble_mean([outputs[name][flip] for name in members])
                report = classification_report(labels, probs.argmax(axis=1))
                scored.append(Scored(members, flip, report["accuracy"], report["macro_f1"]))
    return sorted(scored, key=lambda row: (-row.accuracy, -row.macro_f1))


def pairwise_diversity(
    outputs: dict[str, dict[str, np.ndarray]], labels: np.ndarray
) -> list[tuple[str, str, float, float]]:
    """(a, b, share of faces both label alike, share of a's errors that b also makes), one pass.
    An ensemble gains where members err differently: a high second figure means little gain."""
    predicted = {name: outputs[name]["off"].argmax(axis=1) for name in sorted(outputs)}
    rows = []
    for first, second in itertools.permutations(predicted, 2):
        errors = predicted[first] != labels
        repeated = predicted[second][errors] != labels[errors]
        shared = float(repeated.mean()) if errors.any() else 0.0
        agree = float((predicted[first] == predicted[second]).mean())
        rows.append((first, second, agree, shared))
    return rows


def best_without(scored: list[Scored], name: str) -> Scored | None:
    return next((row for row in scored if name not in row.members), None)


@app.command(help=__doc__)
def main(
    members: Annotated[str, typer.Option(help="comma-separated shipped networks")] = (
        "five_layer,six_layer,compact_resnet,efficientnet_lite0,five_layer_ovr"
    ),
    data: Annotated[Path, typer.Option(help="FER2013 npz")] = DEFAULT_DATA,
    split: Annotated[str, typer.Option(help="where to choose: the validation split")] = (
        "PublicTest"
    ),
    top: Annotated[int, typer.Option(min=1)] = 10,
    json_path: Annotated[Path | None, typer.Option("--json")] = None,
) -> None:
    def work() -> None:
        from fer_live.engines.errors import InputFileError, UsageError

        names = [name.strip() for name in members.split(",") if name.strip()]
        if len(set(names)) < 2:
            raise UsageError("--members needs at least two different networks")
        if not data.is_file():
            raise InputFileError(f"{data}: no such file")
        with np.load(data) as npz:
            chosen = npz["usage"] == split
            faces, labels = npz["images"][chosen], npz["labels"][chosen]
        if not len(faces):
            raise UsageError(f"{data} has no {split} faces")
        outputs = {name: member_outputs(name, faces) for name in dict.fromkeys(names)}
        scored = score_subsets(outputs, labels)
        print(f"{split}, {len(labels)} faces: best subsets (accuracy / macro-F1, flip)")
        for row in scored[:top]:
            names_list = ",".join(row.members)
            print(f"  {row.accuracy:.4f} / {row.macro_f1:.4f}  {row.flip:4}  {names_list}")
        print("best without each member:")
        for name in outputs:
            row = best_without(scored, name)
            if row is not None:
                print(f"  without {name}: {row.accuracy:.4f} {row.flip} {','.join(row.members)}")
        print("one pass, per pair: same label / share of the first's errors the second repeats:")
        for first, second, agree, shared in pairwise_diversity(outputs, labels):
            print(f"  {first} vs {second}: {agree:.3f} / {shared:.3f}")
        if json_path is not None:
            json_path.write_text(json.dumps([asdict(row) for row in scored], indent=1) + "\n")

    run_cli(work)


if __name__ == "__main__":
    app()
