"""Registry-wide: every architecture builds, gives N×7 distributions, has the documented size."""

from __future__ import annotations

import numpy as np
import pytest

from engines.errors import UnknownNameError
from train.architectures import build_model, get_architecture, list_architectures

PAPER_COUNTS = {"five_layer": 16_307_207, "six_layer": 34_545_159}


def test_registry_lists_the_architectures():
    assert list_architectures() == [
        "efficientnet_lite0", "five_layer", "resnet50", "six_layer", "vgg16"
    ]
    assert list_architectures("*_layer") == ["five_layer", "six_layer"]


@pytest.mark.parametrize("name", list_architectures())
def test_architecture_builds_with_documented_count_and_distribution_output(name):
    arch = get_architecture(name)
    model = build_model(name)  # no weights, no network
    assert model.count_params() == arch.params_multiclass
    if name in PAPER_COUNTS:
        assert model.count_params() == PAPER_COUNTS[name]
    x = np.random.default_rng(0).random((2, *arch.spec.input_shape), dtype=np.float32)
    probs = np.asarray(model(x, training=False))
    assert probs.shape == (2, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("name", ["five_layer", "six_layer"])
def test_binary_variant_has_one_sigmoid_output(name):
    model = build_model(name, binary=True)
    out = np.asarray(model(np.zeros((3, 48, 48, 1), np.float32), training=False))
    assert out.shape == (3, 1) and ((out >= 0) & (out <= 1)).all()


def test_unknown_architecture_suggests_closest():
    with pytest.raises(UnknownNameError, match="five_layer") as info:
        get_architecture("five_layr")
    assert info.value.suggestion == "five_layer"
