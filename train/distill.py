"""Knowledge distillation: a student learns from a shipped model's or ensemble's soft outputs.

Offline distillation: the teacher runs once over the (un-augmented) training faces, as it ships
(its own precision, mirror setting and decision rule), and its probabilities are cached in the run
folder. The student then sees augmented faces against those targets. Running the teacher inside
the training loop would multiply the CPU cost of every epoch by the teacher's cost (an ensemble
costs several five_layers per face), for a small gain in target fidelity.

The loss is Hinton et al.'s: alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(labels).
Our models end in a softmax, so the student's tempered distribution is rebuilt from its
probabilities: softmax(log p / T) equals softmax(z / T) for the logits z (the shift cancels).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_live.engines.errors import UsageError
from fer_live.engines.labels import NUM_CLASSES

log = logging.getLogger(__name__)

TEACHER_BATCH = 256


@dataclass(frozen=True)
class Distillation:
    """fer-train --teacher: whose outputs, how soft, and how much they weigh against the labels."""

    teacher: str
    temperature: float = 4.0
    alpha: float = 0.7  # weight of the teacher term; 1 - alpha goes to the hard labels

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise UsageError(f"--temperature must be positive, not {self.temperature}")
        if not 0.0 <= self.alpha <= 1.0:
            raise UsageError(f"--distill-alpha must lie in [0, 1], not {self.alpha}")


def teacher_probabilities(teacher: str, images: np.ndarray, cache_dir: Path) -> np.ndarray:
    """The teacher's N×7 probabilities (EMOTIONS order) for these faces, cached by content."""
    from fer_live.engines.model import FerModel

    digest = hashlib.sha256(images.tobytes()).hexdigest()[:16]
    cache = cache_dir / f"teacher-{teacher.replace(',', '+')}-{digest}.npy"
    if cache.is_file():
        probs = np.load(cache)
        if probs.shape == (len(images), NUM_CLASSES):
            log.info("teacher outputs from %s", cache)
            return probs
    log.info("running teacher %s over %d training faces (once; cached)", teacher, len(images))
    with FerModel.open(teacher, mode="auto") as model:
        parts = [
            model.predict_crops(images[start : start + TEACHER_BATCH]).probs
            for start in range(0, len(images), TEACHER_BATCH)
        ]
    probs = np.concatenate(parts).astype(np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(".partial.npy")
    np.save(partial, probs)
    os.replace(partial, cache)
    return probs


def distillation_targets(labels: np.ndarray, soft: np.ndarray | None) -> np.ndarray:
    """[one-hot | teacher] side by side (N×14): one target tensor through tf.data and mixing.

    Without teacher outputs (the validation set) the labels stand in for them, so validation
    accuracy reads the first half exactly as without distillation.
    """
    hard = np.eye(NUM_CLASSES, dtype=np.float32)[labels]
    return np.concatenate([hard, hard if soft is None else soft.astype(np.float32)], axis=1)


@functools.cache  # Keras refuses to register the same name twice
def _keras_parts():
    import keras
    from keras import ops

    def tempered_log(probs, temperature):
        return ops.log_softmax(ops.log(ops.clip(probs, 1e-7, 1.0)) / temperature, axis=-1)

    @keras.saving.register_keras_serializable(package="fer_live")
    class DistillationLoss(keras.losses.Loss):
        def __init__(self, temperature=4.0, alpha=0.7, label_smoothing=0.0, name="distillation"):
            super().__init__(name=name)
            self.temperature, self.alpha, self.label_smoothing = temperature, alpha, label_smoothing

        def call(self, y_true, y_pred):
            y_pred = ops.cast(y_pred, "float32")
            hard, soft = y_true[:, :NUM_CLASSES], y_true[:, NUM_CLASSES:]
            log_teacher = tempered_log(soft, self.temperature)
            log_student = tempered_log(y_pred, self.temperature)
            kl = ops.sum(ops.exp(log_teacher) * (log_teacher - log_student), axis=-1)
            ce = keras.losses.categorical_crossentropy(
                hard, y_pred, label_smoothing=self.label_smoothing
            )
            return self.alpha * self.temperature**2 * kl + (1.0 - self.alpha) * ce

        def get_config(self):
            return {
                "temperature": self.temperature,
                "alpha": self.alpha,
                "label_smoothing": self.label_smoothing,
                "name": self.name,
            }

    @keras.saving.register_keras_serializable(package="fer_live")
    def hard_label_accuracy(y_true, y_pred):
        return keras.metrics.categorical_accuracy(y_true[:, :NUM_CLASSES], y_pred)

    return DistillationLoss, hard_label_accuracy


def loss_and_metrics(distillation: Distillation, label_smoothing: float):
    """The compile() loss and an `accuracy` metric on the hard-label half of the targets."""
    import keras

    loss_class, accuracy = _keras_parts()
    loss = loss_class(distillation.temperature, distillation.alpha, label_smoothing)
    return loss, [keras.metrics.MeanMetricWrapper(accuracy, name="accuracy")]
