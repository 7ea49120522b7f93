"""Registry-wide: every architecture builds, gives N×7 distributions, has the documented size."""

from __future__ import annotations

import numpy as np
import pytest

from fer_live.engines.errors import UnknownNameError
from fer_live.train.architectures import build_model, get_architecture, list_architectures

PAPER_COUNTS = {"five_layer": 16_307_207, "six_layer": 34_545_159}
# The compact model must stay far below five_layer's size (issue 15: a third of its INT8 cost).
COMPACT_MAX_PARAMS = 4_000_000


def test_registry_lists_the_architectures():
    assert list_architectures() == [
        "compact_resnet", "efficientnet_lite0", "efficientnet_lite0_128", "efficientnet_lite0_224",
        "efficientnet_lite0_96", "five_layer", "resnet50", "six_layer", "vgg16",
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


def test_compact_resnet_is_compact_and_keeps_the_48x48_gray_input():
    arch = get_architecture("compact_resnet")
    model = build_model("compact_resnet")
    assert model.count_params() == 3_589_095 <= COMPACT_MAX_PARAMS
    assert arch.spec.input_shape == (48, 48, 1) and arch.spec.color == "gray"
    assert not arch.transfer


def test_compact_recipe_uses_adamw_and_random_erasing():
    from fer_live.train.augment import make_augmenter
    from fer_live.train.recipes import get_recipe

    recipe = get_recipe("compact")
    assert recipe.weight_decay > 0 and 0 < recipe.random_erasing <= 1
    faces = np.full((8, 48, 48, 1), 0.5, np.float32)
    erased = np.asarray(make_augmenter(0, random_erasing=1.0)(faces))
    assert erased.shape == faces.shape
    assert not np.allclose(erased, 0.5)  # something was erased (or moved) on every call


def test_fer_train_stderr_has_no_framework_chatter(fer2013, tmp_path):
    """TensorFlow's CUDA stub, absl and Keras's shuffle warning used to open every fer-train run."""
    from tests.conftest import run_command

    result = run_command(
        "fer-train", "--arch", "compact_resnet", "--data", str(fer2013), "--out",
        str(tmp_path / "out"), "--recipe", "compact", "--epochs", "1", "--limit", "128",
        "--max-steps", "1",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for noise in ("cuda drivers", "absl::InitializeLog", "cuInit", "UserWarning", "oneDNN"):
        assert noise not in result.stderr, result.stderr[:1500]
    assert "epoch 1/1" in result.stderr
