"""Online training augmentation (Keras preprocessing layers): rotation ±10°, mirror, zoom, shift,
and optionally random erasing (a recipe piece)."""

from __future__ import annotations

from collections.abc import Callable


def make_augmenter(seed: int = 0, random_erasing: float = 0.0) -> Callable:
    """A function batch -> augmented batch for use inside tf.data.

    The layers are applied one by one rather than wrapped in `keras.Sequential`: single
    preprocessing layers switch to TensorFlow ops inside tf.data whatever the Keras backend, a
    Sequential model would run on the training backend (torch) and fail on graph tensors.
    """
    import keras

    layers = [
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomRotation(10 / 360, fill_mode="nearest", seed=seed + 1),
        keras.layers.RandomZoom((-0.2, 0.1), fill_mode="nearest", seed=seed + 2),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed + 3),
    ]
    if random_erasing > 0:
        # Inputs are model inputs (0..1 for gray faces); noise fill, up to a fifth of the face.
        layers.append(
            keras.layers.RandomErasing(
                factor=random_erasing, scale=(0.02, 0.2), value_range=(0, 1), seed=seed + 4
            )
        )

    def augment(batch):
        for layer in layers:
            batch = layer(batch, training=True)
        return batch

    return augment
