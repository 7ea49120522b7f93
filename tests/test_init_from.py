"""fer-train --init-from: a warm restart copies every weight; a related architecture copies the
layers it shares (six_layer from a trained five_layer); an unrelated model is refused."""

from __future__ import annotations

import numpy as np
import pytest

from fer_live.engines.errors import ModelFileError
from fer_live.train.architectures import build_model
from fer_live.train.fit import load_initial_weights


@pytest.fixture(scope="module")
def five_layer_artifact(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(11)
    folder = tmp_path_factory.mktemp("five_layer")
    build_model("five_layer").save(folder / "model.keras")
    return folder


def _weights(model, name):
    return model.get_layer(name).get_weights()


def test_six_layer_starts_from_five_layers_conv_blocks(five_layer_artifact):
    import keras

    donor = keras.models.load_model(five_layer_artifact / "model.keras", compile=False)
    keras.utils.set_random_seed(12)
    six = build_model("six_layer")
    fresh_conv6 = _weights(six, "conv6")
    load_initial_weights(six, five_layer_artifact)
    for name in ("conv1", "bn1", "conv5", "bn5"):
        for got, want in zip(_weights(six, name), _weights(donor, name), strict=True):
            np.testing.assert_array_equal(got, want)
    for got, before in zip(_weights(six, "conv6"), fresh_conv6, strict=True):
        np.testing.assert_array_equal(got, before)  # not in five_layer: left as initialised


def test_same_architecture_copies_everything(five_layer_artifact):
    import keras

    donor = keras.models.load_model(five_layer_artifact / "model.keras", compile=False)
    keras.utils.set_random_seed(13)
    model = build_model("five_layer")
    load_initial_weights(model, five_layer_artifact)
    for got, want in zip(model.get_weights(), donor.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_unrelated_model_is_refused(model_dir):
    model = build_model("five_layer")
    with pytest.raises(ModelFileError, match="no layer"):
        load_initial_weights(model, model_dir / "tiny")
