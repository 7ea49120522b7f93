"""fer-train's job: data -> variant -> training -> artifact folder with spec, info and metrics."""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from fer_live.engines.artifacts import record_metrics, save_keras_artifact
from fer_live.engines.errors import UnknownNameError, UsageError
from fer_live.engines.labels import EMOTIONS
from fer_live.engines.preprocess import to_model_input
from fer_live.train.backend_choice import resolve_precision
from fer_live.train.datasets import FaceSet, file_checksum, load_faces, split_faces
from fer_live.train.distill import Distillation, teacher_probabilities
from fer_live.train.fit import TrainConfig, read_state, spec_for, train_model
from fer_live.train.metrics import classification_report
from fer_live.train.recipes import get_recipe
from fer_live.train.variants import make_variant

log = logging.getLogger(__name__)


def _limit(faces: FaceSet, limit: int | None) -> FaceSet:
    return faces if limit is None else faces.subset(np.arange(min(limit, len(faces))))


def train_to_artifact(
    *,
    architecture: str,
    data: Path,
    out: Path,
    run_dir: Path,
    variant: str,
    recipe_name: str,
    precision: str,
    epochs: int | None,
    learning_rate: float | None = None,
    init_from: Path | None = None,
    distillation: Distillation | None = None,
    positive: str | None,
    split_scheme: str,
    backbone_weights: str,
    resume: bool,
    max_steps: int | None,
    limit: int | None,
    seed: int,
    command: str,
    engine: str = "keras",
) -> Path:
    if engine not in ENGINES:
        raise UnknownNameError("training engine", engine, ENGINES)
    # Recipes and options are checked before the data loads.
    if engine == "torch":
        torch_recipe = _torch_recipe(
            recipe_name, epochs, learning_rate, precision,
            refused={"--positive": positive},
        )
    else:
        recipe = get_recipe(recipe_name)
        recipe = replace(
            recipe,
            mixed_bfloat16=resolve_precision(precision) == "mixed_bfloat16",
            learning_rate=learning_rate or recipe.learning_rate,
        )
        if variant.startswith("binary-") and positive is None:
            positive = variant.removeprefix("binary-")  # a binary set trains a one-vs-rest model
        if positive is not None and positive not in EMOTIONS:
            raise UnknownNameError("emotion", positive, EMOTIONS)
        if distillation is not None and positive is not None:
            raise UsageError(
                "--teacher trains a seven-class student; it does not apply to --positive"
            )
    splits = make_variant(split_faces(load_faces(data), split_scheme, seed), variant, seed)
    train, val, test = (_limit(part, limit) for part in (splits.train, splits.val, splits.test))
    info = {
        "command": command,
        "data": str(data),
        "data_sha256": file_checksum(data),
        "variant": variant,
        "split_scheme": split_scheme,
        "recipe": recipe_name,
        "init_from": str(init_from) if init_from else None,
        "distillation": asdict(distillation) if distillation else None,
    }
    soft = None  # the teacher's outputs for the training faces (both engines)
    if distillation is not None:
        soft = teacher_probabilities(distillation.teacher, train.images, run_dir)
    if engine == "torch":
        teacher = None
        if soft is not None:
            from fer_live.train.torch_fit import Teacher

            teacher = Teacher(soft, distillation.temperature, distillation.alpha)
        model, spec, details = _fit_with_torch(
            architecture, train, val, run_dir, torch_recipe, seed, resume, max_steps,
            backbone_weights, init_from, teacher,
        )
        _save_and_test(model, spec, out, {**info, **details}, test, None)
        return out
    config = TrainConfig(
        architecture=architecture,
        recipe=recipe,
        run_dir=run_dir,
        epochs=epochs,
        positive_class=None if positive is None else EMOTIONS.index(positive),
        backbone_weights=backbone_weights,
        balanced="balanced" in variant,
        max_steps_per_epoch=max_steps,
        seed=seed,
        resume=resume,
        init_from=init_from,
        distillation=distillation,
    )
    model = train_model(config, train, val, soft)
    spec = spec_for(config)
    state = read_state(run_dir)
    info |= {
        "mixed_bfloat16": recipe.mixed_bfloat16,
        "dropout_scale": recipe.dropout_scale,
        "learning_rate": recipe.learning_rate,
        "keras_backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "epochs": state.get("epoch"),
        "best_epoch": state.get("best_epoch"),
        "best_val_accuracy": state.get("best_val_accuracy"),
        "epoch_seconds": state.get("epoch_seconds"),
        "history_csv": (run_dir / "history.csv").read_text()
        if (run_dir / "history.csv").is_file()
        else "",
    }
    _save_and_test(model, spec, out, info, test, positive)
    return out


def _save_and_test(model, spec, out: Path, info: dict, test: FaceSet, positive: str | None):
    """Write the artifact and record its test-split metrics (what fer-train prints last)."""
    save_keras_artifact(model, spec, out, info)
    scores = model.predict(to_model_input(test.images, spec), batch_size=256, verbose=0)
    if positive is None:
        report = classification_report(test.labels, scores.argmax(axis=1))
    else:
        truth = (test.labels == EMOTIONS.index(positive)).astype(int)
        report = classification_report(truth, (scores[:, 0] > 0.5).astype(int), ("other", positive))
    record_metrics(out, "test/keras/fp32", report)
    log.info(
        "test accuracy %.4f  macro-F1 %.4f  (%d faces)",
        report["accuracy"],
        report["macro_f1"],
        report["n"],
    )


ENGINES = ("keras", "torch")


def _torch_recipe(
    recipe_name: str,
    epochs: int | None,
    learning_rate: float | None,
    precision: str,
    refused: dict[str, object],
):
    """fer-train --engine torch's recipe with the command's overrides; refuses the options only
    the Keras engine has."""
    from fer_live.train.torch_fit import get_torch_recipe

    given = [option for option, value in refused.items() if value is not None]
    if given:
        raise UsageError(
            f"--engine torch does not take {', '.join(given)}", hint="use --engine keras for it"
        )
    recipe = get_torch_recipe(recipe_name)
    return replace(
        recipe,
        epochs=epochs or recipe.epochs,
        learning_rate=learning_rate or recipe.learning_rate,
        # auto: the recipe's choice where the CPU computes bfloat16 natively.
        bfloat16=resolve_precision(precision) == "mixed_bfloat16"
        and (recipe.bfloat16 or precision != "auto"),
    )


def _fit_with_torch(
    architecture: str, train: FaceSet, val: FaceSet, run_dir: Path, recipe, seed: int,
    resume: bool, max_steps: int | None, backbone_weights: str, init_from: Path | None,
    teacher,
):
    """The torch twin trains (train/torch_fit.py) and the registered Keras model receives its
    weights; returns (Keras model, spec, what info.json adds about the run)."""
    from fer_live.train.architectures import get_architecture
    from fer_live.train.torch_fit import train_keras_model_with_torch

    model, history = train_keras_model_with_torch(
        architecture, train, val, run_dir, recipe, seed, resume, max_steps, backbone_weights,
        init_from, teacher,
    )
    best = max(history, key=lambda row: row["val_accuracy"])
    details = {
        "engine": "torch",
        "torch_recipe": asdict(recipe),
        "backbone_weights": backbone_weights,
        "epochs": len(history),
        "best_epoch": best["epoch"],
        "best_val_accuracy": best["val_accuracy"],
        "epoch_seconds": [row["seconds"] for row in history],
        "history": history,
    }
    return model, get_architecture(architecture).spec, details
