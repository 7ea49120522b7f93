"""Training batches without TensorFlow: a `keras.utils.PyDataset` of uint8 faces.

fer-train feeds Keras through tf.data when TensorFlow is installed (fit.make_dataset). A GPU
machine with PyTorch but no TensorFlow (Keras on the PyTorch backend) trains through this
instead: same shuffling per epoch, same preprocessing (`to_model_input`) and the same
augmentation layers (train/augment.py), which Keras runs eagerly on its own backend here.
`FER_TRAIN_DATA=pydataset` chooses it where TensorFlow is installed too (to compare the two).
"""

from __future__ import annotations

import math
import os

import keras
import numpy as np

from fer_live.engines.preprocess import to_model_input
from fer_live.engines.spec import ModelSpec
from fer_live.train.augment import make_augmenter
from fer_live.train.backend_choice import tensorflow_installed


def use_pydataset() -> bool:
    """True when fer-train must do without tf.data (no TensorFlow, or asked to)."""
    if os.environ.get("FER_TRAIN_DATA") == "pydataset":
        return True
    if not tensorflow_installed():
        return True
    try:  # tf.data's path imports it anyway; a broken install counts as none
        import tensorflow  # noqa: F401
    except ImportError:
        return True
    return False


class FaceBatches(keras.utils.PyDataset):
    """Batches of (model input float32 B×H×W×C, targets float32 B×K) from uint8 N×48×48 faces;
    training: a new order every epoch and online augmentation."""

    def __init__(
        self,
        images: np.ndarray,
        targets: np.ndarray,
        spec: ModelSpec,
        batch_size: int,
        training: bool,
        seed: int = 0,
        random_erasing: float = 0.0,
        max_steps: int | None = None,
    ) -> None:
        super().__init__()
        self.images, self.targets = images, targets.astype(np.float32)
        self.spec, self.batch_size, self.training = spec, batch_size, training
        self.max_steps = max_steps
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(len(images)) if training else np.arange(len(images))
        self._augment = make_augmenter(seed, random_erasing) if training else None

    def __len__(self) -> int:
        steps = math.ceil(len(self.images) / self.batch_size)
        return min(steps, self.max_steps) if self.max_steps else steps

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        pixels = to_model_input(self.images[rows], self.spec)
        if self._augment is not None:
            pixels = keras.ops.convert_to_numpy(self._augment(pixels))
        return pixels, self.targets[rows]

    def on_epoch_end(self) -> None:
        if self.training:
            self._order = self._rng.permutation(len(self.images))
