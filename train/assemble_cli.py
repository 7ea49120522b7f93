"""`fer-assemble`: ensembles and one-vs-rest sets from trained models, as artifact folders."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from engines.cli_support import run_cli, stderr_console

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command()
def ensemble(
    members: Annotated[str, typer.Option(help="comma list of model names or folders")],
    out: Annotated[Path, typer.Option(help="ensemble folder to write")],
) -> None:
    """Unweighted mean of the members' softmax outputs (paper §3.4)."""

    def work() -> None:
        from engines.artifacts import write_json_atomic
        from engines.errors import UsageError
        from engines.store import load_artifact, member_allowed

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
        from engines.store import load_artifact
        from train.datasets import file_checksum, load_faces, split_faces
        from train.ovr import build_ovr_set

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
