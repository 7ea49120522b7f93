"""Resumable training of one registered architecture on one dataset variant.

A run folder (outside the repository for long runs) holds `last.keras` (model + optimizer, written
every epoch), `best.weights.h5` (best validation accuracy), `history.csv` and `state.json`. Running
again with `resume=True` continues from the last finished epoch with the same schedule.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from fer_live.engines.errors import UsageError
from fer_live.engines.preprocess import to_model_input
from fer_live.engines.spec import ModelSpec
from fer_live.train.architectures import build_model, get_architecture
from fer_live.train.datasets import FaceSet
from fer_live.train.distill import Distillation, distillation_targets, loss_and_metrics
from fer_live.train.progress import make_progress_callback
from fer_live.train.recipes import Recipe

log = logging.getLogger(__name__)

LAST_CHECKPOINT = "last.keras"
BEST_WEIGHTS = "best.weights.h5"
STATE_FILE = "state.json"
HISTORY_FILE = "history.csv"
# Training faces that re-estimate the BN statistics of weights read from ONNX (--init-from).
INIT_SAMPLE = 2048


@dataclass(frozen=True)
class TrainConfig:
    """One training run. `positive_class` set means a binary one-vs-rest model for that class."""

    architecture: str
    recipe: Recipe
    run_dir: Path
    epochs: int | None = None
    positive_class: int | None = None
    backbone_weights: str | None = None
    balanced: bool = False
    max_steps_per_epoch: int | None = None  # tests: a few steps only
    seed: int = 1234
    resume: bool = False
    init_from: Path | None = None  # a trained artifact folder: start from its weights
    distillation: Distillation | None = None  # fer-train --teacher


def read_state(run_dir: Path) -> dict:
    path = run_dir / STATE_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def _write_state(run_dir: Path, state: dict) -> None:
    tmp = run_dir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, run_dir / STATE_FILE)


def spec_for(config: TrainConfig) -> ModelSpec:
    from fer_live.engines.labels import EMOTIONS

    spec = get_architecture(config.architecture).spec
    if config.positive_class is None:
        return spec
    return ModelSpec.from_dict(
        {**spec.to_dict(), "labels": [EMOTIONS[config.positive_class]], "output": "sigmoid"}
    )


def _targets(faces: FaceSet, config: TrainConfig, soft: np.ndarray | None) -> np.ndarray:
    if config.distillation is not None:
        return distillation_targets(faces.labels, soft)
    if config.positive_class is not None:
        return (faces.labels == config.positive_class).astype(np.float32)[:, None]
    from fer_live.engines.labels import NUM_CLASSES

    return np.eye(NUM_CLASSES, dtype=np.float32)[faces.labels]


def make_dataset(
    faces: FaceSet,
    config: TrainConfig,
    spec: ModelSpec,
    training: bool,
    soft: np.ndarray | None = None,
):
    """uint8 faces -> to_model_input per batch -> augmentation (training only), through tf.data.

    soft: the teacher's probabilities for these faces when distilling (training set only).
    Without TensorFlow (a PyTorch-only GPU machine) the same batches come from a PyDataset.
    """
    from fer_live.train.batches import FaceBatches, use_pydataset

    if use_pydataset():
        return FaceBatches(
            faces.images,
            _targets(faces, config, soft),
            spec,
            config.recipe.batch_size,
            training,
            config.seed,
            config.recipe.random_erasing,
            config.max_steps_per_epoch if training else None,
        )
    import tensorflow as tf

    from fer_live.train.augment import make_augmenter

    batch_size = config.recipe.batch_size
    dataset = tf.data.Dataset.from_tensor_slices((faces.images, _targets(faces, config, soft)))
    if training:
        dataset = dataset.shuffle(len(faces), seed=config.seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)

    def preprocess(images, targets):
        pixels = tf.numpy_function(
            lambda batch: to_model_input(batch, spec), [images], tf.float32, stateful=False
        )
        pixels.set_shape((None, *spec.input_shape))
        return pixels, targets

    dataset = dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    if training:
        augmenter = make_augmenter(config.seed, config.recipe.random_erasing)
        dataset = dataset.map(lambda x, y: (augmenter(x), y), num_parallel_calls=tf.data.AUTOTUNE)
        if config.max_steps_per_epoch:
            dataset = dataset.take(config.max_steps_per_epoch)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _loss_and_metrics(config: TrainConfig):
    import keras

    smoothing = config.recipe.label_smoothing
    if config.distillation is not None:
        return loss_and_metrics(config.distillation, smoothing)
    if config.positive_class is not None:
        loss = keras.losses.BinaryCrossentropy(label_smoothing=smoothing)
        return loss, [keras.metrics.BinaryAccuracy(name="accuracy")]
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)
    return loss, [keras.metrics.CategoricalAccuracy(name="accuracy")]


def scale_dropout(model, scale: float) -> None:
    """Multiply every Dropout rate (see Recipe.dropout_scale); set before the first fit traces."""
    import keras

    if scale == 1.0:
        return
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = layer.rate * scale


def _compile(model, config: TrainConfig, steps_per_epoch: int, epochs: int) -> None:
    import keras

    recipe = config.recipe
    transfer = get_architecture(config.architecture).transfer
    base_lr = recipe.learning_rate or (1e-4 if transfer else 1e-3)
    if recipe.schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=base_lr / 10,
            decay_steps=max(1, steps_per_epoch * (epochs - 1)),
            warmup_target=base_lr,
            warmup_steps=steps_per_epoch,
        )
    else:
        learning_rate = base_lr
    loss, metrics = _loss_and_metrics(config)
    if recipe.weight_decay > 0:
        optimizer = keras.optimizers.AdamW(learning_rate, weight_decay=recipe.weight_decay)
    else:
        optimizer = keras.optimizers.Adam(learning_rate)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)


def _callbacks(config: TrainConfig, state: dict, total_epochs: int):
    import keras

    run_dir = config.run_dir
    best_so_far = state.get("best_val_accuracy")

    class SaveState(keras.callbacks.Callback):
        """Records progress after the checkpoints of an epoch are on disk (resume reads it)."""

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            seconds = time.perf_counter() - self.started
            val = float(logs.get("val_accuracy", float("nan")))
            best = state.get("best_val_accuracy")
            if best is None or val > best:
                state["best_val_accuracy"], state["best_epoch"] = val, epoch + 1
            state["epoch"] = epoch + 1
            state.setdefault("epoch_seconds", []).append(round(seconds, 1))
            _write_state(run_dir, state)
            log.info(
                "epoch %d/%d  loss %.4f  acc %.4f  val_loss %.4f  val_acc %.4f  (%.0f s)",
                epoch + 1,
                total_epochs,
                logs.get("loss", math.nan),
                logs.get("accuracy", math.nan),
                logs.get("val_loss", math.nan),
                val,
                seconds,
            )

    callbacks = [
        keras.callbacks.ModelCheckpoint(
            run_dir / BEST_WEIGHTS,
            monitor="val_accuracy",
            mode="max",
            save_best_only=True,
            save_weights_only=True,
            initial_value_threshold=best_so_far,
        ),
        keras.callbacks.ModelCheckpoint(run_dir / LAST_CHECKPOINT, save_best_only=False),
        keras.callbacks.CSVLogger(run_dir / HISTORY_FILE, append=True),
        SaveState(),
    ]
    if config.recipe.schedule == "plateau":
        patience = config.recipe.plateau_patience
        if config.balanced and not get_architecture(config.architecture).transfer:
            patience = config.recipe.plateau_patience_balanced_custom
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_accuracy", mode="max", factor=0.4, patience=patience
            )
        )
    return callbacks


def train_model(
    config: TrainConfig, train: FaceSet, val: FaceSet, teacher_probs: np.ndarray | None = None
):
    """Train (or resume) and return the Keras model with the best validation weights loaded.

    teacher_probs: N×7 for `train` when config.distillation is set (train.distill).
    """
    import keras

    if config.recipe.mixed_bfloat16:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    config.run_dir.mkdir(parents=True, exist_ok=True)
    spec = spec_for(config)
    state = read_state(config.run_dir) if config.resume else {}
    # Offset the seed by the epochs already done: a resumed run reseeded with the original seed
    # replays epoch 1's shuffle and augmentation on a model that has already learned them.
    config = replace(config, seed=config.seed + int(state.get("epoch", 0)))
    keras.utils.set_random_seed(config.seed)
    epochs = config.epochs or state.get("epochs") or config.recipe.epochs
    if state.get("epochs") and epochs != state["epochs"] and config.recipe.schedule == "cosine":
        raise UsageError(
            f"{config.run_dir}: this run's cosine schedule was set for {state['epochs']} epochs",
            hint="resume without --epochs, or start a new run folder",
        )
    train_ds = make_dataset(train, config, spec, training=True, soft=teacher_probs)
    val_ds = make_dataset(val, config, spec, training=False)
    steps = config.max_steps_per_epoch or math.ceil(len(train) / config.recipe.batch_size)

    last = config.run_dir / LAST_CHECKPOINT
    resuming = config.resume and last.is_file() and bool(state.get("epoch"))
    if not resuming:
        state = {
            "epochs": epochs,
            "architecture": config.architecture,
            "recipe": config.recipe.name,
        }
    model = build_model(
        config.architecture,
        binary=config.positive_class is not None,
        backbone_weights=None if resuming else config.backbone_weights,
    )
    scale_dropout(model, config.recipe.dropout_scale)
    _compile(model, config, steps, epochs)
    if resuming:
        # Rebuild and compile exactly as at the start, then restore weights and optimizer state
        # (its step counter drives the schedule). keras.models.load_model on the torch backend
        # gave a model that reported nonsense training metrics after resuming.
        log.info("resuming %s from epoch %d", config.run_dir, state["epoch"])
        model.optimizer.build(model.trainable_variables)
        model.load_weights(last)
    elif config.init_from is not None:
        # A new schedule (warm restart) from trained weights: a run that ended before the
        # accuracy it could reach continues without replaying its epochs.
        log.info("starting from the weights of %s", config.init_from)
        # An artifact without model.keras (INT8-only ones) also needs faces as the model sees
        # them: its BN layers' statistics are re-estimated (train.onnx_weights).
        def sample() -> np.ndarray:
            rows = np.random.default_rng(config.seed).permutation(len(train))[:INIT_SAMPLE]
            return to_model_input(train.images[rows], spec)

        load_initial_weights(model, config.init_from, sample=sample)
    initial_epoch = int(state.get("epoch", 0))
    if initial_epoch < epochs:
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=epochs,
            initial_epoch=initial_epoch,
            callbacks=[
                *_callbacks(config, state, epochs),
                make_progress_callback(steps, config.recipe.batch_size),
            ],
            verbose=2 if os.environ.get("FER_TRAIN_VERBOSE") else 0,
            shuffle=False,  # tf.data shuffles (make_dataset); Keras would warn it cannot
        )
    return export_best(config)


def load_initial_weights(model, artifact: Path, sample=None) -> None:
    """Start from a trained artifact's weights.

    From model.keras, every layer whose name and weight shapes match is copied: the whole model
    for the same architecture; for a related one, the shared part (six_layer's conv1-conv5 blocks
    are five_layer's, so six_layer can start from a trained five_layer and learn only its
    2048-filter block and classifier from scratch; a binary variant keeps all but its output
    layer). An artifact that ships ONNX only gives the same architecture its weights through
    train.onnx_weights; `sample()` returns model inputs for its folded BN statistics.
    """
    import keras

    from fer_live.engines.errors import ModelFileError
    from fer_live.engines.model_files import KERAS_FILE, ONNX_FILES

    source = artifact / KERAS_FILE
    onnx_files = [artifact / ONNX_FILES[precision] for precision in ("fp32", "int8")]
    if not source.is_file() and any(path.is_file() for path in onnx_files):
        from fer_live.train.onnx_weights import load_onnx_weights

        if sample is None:
            raise ModelFileError(f"{artifact}: ONNX weights need sample faces for their BN layers")
        if keras.mixed_precision.global_policy().name == "mixed_bfloat16":
            # Measured on compact_resnet: the re-estimated BN layers score 0.20 in training
            # mode under mixed_bfloat16 (batch moments of inputs with a large mean, in
            # bfloat16), 0.62 in float32; the run would start from a broken model.
            raise UsageError(
                f"{artifact} ships ONNX weights only; continuing them needs float32",
                hint="add --precision float32",
            )
        onnx_file = next(path for path in onnx_files if path.is_file())
        copied = load_onnx_weights(model, onnx_file, sample())
        log.info("from %s: set %d layers (BN statistics re-estimated)", onnx_file, len(copied))
        return
    try:
        trained = keras.models.load_model(source, compile=False)
    except (OSError, ValueError) as error:
        raise ModelFileError(f"{source}: cannot start from these weights ({error})") from error
    copied = []
    for layer in model.layers:
        try:
            donor = trained.get_layer(layer.name)
        except ValueError:
            continue
        weights = donor.get_weights()
        shapes = [tuple(w.shape) for w in layer.get_weights()]
        if shapes and shapes == [tuple(w.shape) for w in weights]:
            layer.set_weights(weights)
            copied.append(layer.name)
    if not copied:
        raise ModelFileError(
            f"{source}: no layer of {trained.name} matches {model.name} by name and shape",
            hint="--init-from needs an artifact folder of the same or a related architecture",
        )
    fresh = [layer.name for layer in model.layers if layer.weights and layer.name not in copied]
    log.info(
        "from %s: copied %d layers; fresh: %s",
        trained.name,
        len(copied),
        ", ".join(fresh) or "none",
    )


def export_best(config: TrainConfig):
    """A float32 copy of the architecture with the best validation weights (for artifacts)."""
    import keras

    keras.mixed_precision.set_global_policy("float32")
    model = build_model(config.architecture, binary=config.positive_class is not None)
    best = config.run_dir / BEST_WEIGHTS
    model.load_weights(best if best.is_file() else config.run_dir / LAST_CHECKPOINT)
    return model
