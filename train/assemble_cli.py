"""`fer-assemble`: ensembles and one-vs-rest sets from trained models, as artifact folders."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from fer_live.engines.cli_support import run_cli, stderr_console

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command()
def ensemble(
    members: Annotated[str, typer.Option(help="comma list of model names or folders")],
    out: Annotated[Path, typer.Option(help="ensemble folder to write")],
) -> None:
    """Unweighted mean of the members' softmax outputs (paper §3.4)."""

    def work() -> None:
        from fer_live.engines.artifacts import write_json_atomic
        from fer_live.engines.errors import UsageError
        from fer_live.engines.store import load_artifact, member_allowed

        names = [m.strip() for m in members.split(",") if m.strip()]
        if len(names) < 2:
            raise UsageError("an ensemble needs at least two members")
        resolved = [load_artifact(name) for name in names]  # unknown names fail here
        for artifact in resolved:
            if artifact.folder.resolve() == out.resolve():
                raise UsageError(
                    f"--out {out} is the member {artifact.name} itself; choose a new folder"
                )
            if Path(artifact.name).exists() and not member_allowed(out, artifact.folder):
                raise UsageError(
                    f"member {artifact.folder} is outside {out} and the model search path",
                    hint="put the ensemble folder beside its members on $FER_MODEL_DIR, or "
                    "the members inside it",
                )
        out.mkdir(parents=True, exist_ok=True)
        entries = [
            os.path.relpath(a.folder, out) if Path(n).exists() else n
            for n, a in zip(names, resolved, strict=True)
        ]
        write_json_atomic(out / "members.json", {"kind": "ensemble", "members": entries})
        stderr_console().print(f"wrote {out / 'members.json'}: {', '.join(entries)}")

    run_cli(work)


@app.command()
def ovr(
    trunk: Annotated[str, typer.Option(help="trained multi-class model whose trunk is shared")],
    data: Annotated[Path, typer.Option(help="fer2013.npz, fer2013.csv or an image folder")],
    out: Annotated[Path, typer.Option(help="OVR set folder to write")],
    epochs: Annotated[int, typer.Option(min=1, help="epochs per head")] = 8,
    seed: int = 0,
) -> None:
    """Seven sigmoid heads on the frozen trunk of a trained model (paper §3.5)."""

    def work() -> None:
        from fer_live.engines.store import load_artifact
        from fer_live.train.datasets import file_checksum, load_faces, split_faces
        from fer_live.train.ovr import build_ovr_set

        splits = split_faces(load_faces(data))
        folder = build_ovr_set(
            load_artifact(trunk).folder,
            splits.train,
            splits.val,
            out,
            epochs=epochs,
            seed=seed,
            info={
                "command": shlex.join(["fer-assemble", *sys.argv[1:]]),
                "data": str(data),
                "data_sha256": file_checksum(data),
            },
        )
        heads = json.loads((folder / "info.json").read_text())["heads"]
        accuracies = ", ".join(f"{e} {m['val_accuracy']:.3f}" for e, m in heads.items())
        stderr_console().print(f"wrote {folder}; head validation accuracy: {accuracies}")

    run_cli(work)


@app.command()
def balance(
    model: Annotated[str, typer.Option(help="model name or folder (single, ensemble or OVR)")],
    data: Annotated[Path, typer.Option(help="fer2013.npz (its PublicTest faces are used)")],
    out: Annotated[Path, typer.Option(help="folder to write (members.json + fit record)")],
    max_accuracy_drop: Annotated[
        float, typer.Option(min=0, max=0.2, help="validation accuracy it may cost")
    ] = 0.01,
    min_recall: Annotated[
        float, typer.Option(min=0, max=1, help="lift every class's validation recall to this")
    ] = 0.55,
) -> None:
    """Per-class biases fitted on PublicTest that lift the recall of rare classes."""

    def work() -> None:
        from dataclasses import replace

        from fer_live.engines.artifacts import write_json_atomic
        from fer_live.engines.errors import UsageError
        from fer_live.engines.labels import EMOTIONS
        from fer_live.engines.model import FerModel
        from fer_live.engines.store import load_artifact
        from fer_live.train.balance import (
            balanced_accuracy,
            biased_predictions,
            class_recalls,
            fit_class_bias,
        )
        from fer_live.train.datasets import file_checksum, load_faces
        from fer_live.train.evaluate import predict_faces, select_split

        base = load_artifact(model)
        if base.folder.resolve() == out.resolve():
            raise UsageError(f"--out {out} is the model itself; choose a new folder")
        faces = select_split(load_faces(data, load_votes=False), "PublicTest")
        # Fit on the model's own outputs: a composite's existing rule is left out, not undone.
        with FerModel(replace(base, class_bias=None)) as fer_model:
            probs = predict_faces(fer_model, faces.images)
        bias = fit_class_bias(probs, faces.labels, max_accuracy_drop, min_recall)
        before, after = probs.argmax(axis=1), biased_predictions(probs, bias)
        record = {
            "accuracy": [float((p == faces.labels).mean()) for p in (before, after)],
            "balanced_accuracy": [
                balanced_accuracy(faces.labels, p, len(EMOTIONS)) for p in (before, after)
            ],
            "recall": [
                dict(zip(EMOTIONS, class_recalls(faces.labels, p, len(EMOTIONS)).round(4).tolist(),
                         strict=True))
                for p in (before, after)
            ],
        }
        out.mkdir(parents=True, exist_ok=True)
        members = [m.folder for m in base.members] if base.members else [base.folder]
        entries = [_member_entry(folder, out) for folder in members]
        weights = {"weights": list(base.weights)} if base.weights else {}
        write_json_atomic(
            out / "members.json",
            {
                "kind": "ovr" if base.kind == "ovr" else "ensemble",
                "members": entries,
                **weights,
                "class_bias": {e: round(float(b), 3) for e, b in zip(EMOTIONS, bias, strict=True)},
                "fitted_on": {
                    "split": "PublicTest",
                    "data_sha256": file_checksum(data),
                    "command": shlex.join(["fer-assemble", *sys.argv[1:]]),
                    "before_after": record,
                },
            },
        )
        stderr_console().print(
            f"wrote {out / 'members.json'}: PublicTest accuracy "
            f"{record['accuracy'][0]:.4f} -> {record['accuracy'][1]:.4f}, balanced accuracy "
            f"{record['balanced_accuracy'][0]:.4f} -> {record['balanced_accuracy'][1]:.4f}"
        )

    run_cli(work)


@app.command()
def weigh(
    model: Annotated[str, typer.Option(help="ensemble name or folder")],
    data: Annotated[Path, typer.Option(help="fer2013.npz (its PublicTest faces are used)")],
    out: Annotated[Path, typer.Option(help="folder to write (members.json + fit record)")],
    flip: Annotated[
        str, typer.Option(help="the members' mirror setting during the fit: off (one pass), auto")
    ] = "off",
) -> None:
    """Member weights for the ensemble's mean, fitted on PublicTest (train/ensemble_weights.py)."""

    def work() -> None:
        from fer_live.engines.artifacts import write_json_atomic
        from fer_live.engines.combine import ensemble_mean
        from fer_live.engines.errors import UsageError
        from fer_live.engines.model import FerModel
        from fer_live.engines.store import load_artifact
        from fer_live.train.datasets import file_checksum, load_faces
        from fer_live.train.ensemble_weights import MAX_MEMBERS, fit_member_weights
        from fer_live.train.evaluate import predict_faces, select_split
        from fer_live.train.metrics import classification_report

        base = load_artifact(model)
        if base.kind != "ensemble":
            raise UsageError(f"{model} is a {base.kind} model, not an ensemble")
        if base.class_bias is not None:
            raise UsageError(
                f"{model} has a fitted class_bias",
                hint="weigh the ensemble without it, then fer-assemble balance the result",
            )
        if not 2 <= len(base.members) <= MAX_MEMBERS:
            raise UsageError(f"weigh takes 2 to {MAX_MEMBERS} members, not {len(base.members)}")
        if base.folder.resolve() == out.resolve():
            raise UsageError(f"--out {out} is the model itself; choose a new folder")
        faces = select_split(load_faces(data, load_votes=False), "PublicTest")
        member_probs = []
        for member in base.members:
            with FerModel(member, flip=flip) as fer_model:
                member_probs.append(predict_faces(fer_model, faces.images))
        weights = fit_member_weights(member_probs, faces.labels)
        reports = [
            classification_report(faces.labels, ensemble_mean(member_probs, w).argmax(axis=1))
            for w in (None, weights)
        ]
        record = {
            key: [round(float(r[key]), 4) for r in reports] for key in ("accuracy", "macro_f1")
        }
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(
            out / "members.json",
            {
                "kind": "ensemble",
                "members": [_member_entry(m.folder, out) for m in base.members],
                "weights": [round(float(w), 4) for w in weights],
                "weights_fitted_on": {
                    "split": "PublicTest",
                    "flip": flip,
                    "data_sha256": file_checksum(data),
                    "command": shlex.join(["fer-assemble", *sys.argv[1:]]),
                    "equal_then_fitted": record,
                },
            },
        )
        stderr_console().print(
            f"wrote {out / 'members.json'}: weights "
            f"{', '.join(f'{m.name} {w:.2f}' for m, w in zip(base.members, weights, strict=True))}"
            f"; PublicTest accuracy {record['accuracy'][0]:.4f} -> {record['accuracy'][1]:.4f} "
            "(fitted on these faces: optimistic)"
        )

    run_cli(work)


def _member_entry(folder: Path, out: Path) -> str:
    """A shipped model by name (so the composite ships too), else a path relative to `out`."""
    from fer_live.engines.store import SHIPPED_DIR

    if folder.resolve().parent == SHIPPED_DIR.resolve():
        return folder.name
    return os.path.relpath(folder, out)
