"""PyTorch twins of Keras architectures, for the fast CPU trainer (train/torch_fit.py).

Why a twin: Keras 3 on the torch backend runs every convolution channels-first behind per-call
transposes and cannot use torch's bfloat16 autocast, so on a 2-core AVX-512 EPYC compact_resnet
trains at 138-160 images/s in Keras against 320 in plain PyTorch (bfloat16 autocast, channels
last). The twin is built to be weight-for-weight the Keras model: the same layers, Keras's
"same" padding (a stride-2 3×3 convolution on an even input pads one pixel at the bottom and the
right only, where torch's padding=1 would pad both sides) and Keras's batch-norm epsilon (1e-3).
`copy_to_keras` moves trained weights into the registered Keras model, so the artifact, ONNX
export and INT8 conversion are exactly those of `fer-train`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fer_live.engines.errors import UsageError
from fer_live.engines.labels import NUM_CLASSES
from fer_live.train.architectures import LITE0_INPUT_SIDES

KERAS_BN_EPSILON = 1e-3


def _modules():
    import torch
    from torch import nn

    class SameConv(nn.Conv2d):
        """Conv2d without bias and with Keras's (TensorFlow's) "same" padding."""

        def __init__(self, cin: int, cout: int, kernel: int, stride: int, groups: int = 1):
            super().__init__(cin, cout, kernel, stride, padding=0, groups=groups, bias=False)

        def forward(self, x):
            size, kernel, stride = x.shape[-1], self.kernel_size[0], self.stride[0]
            out = -(-size // stride)
            total = max((out - 1) * stride + kernel - size, 0)
            if total:
                before = total // 2
                x = torch.nn.functional.pad(x, (before, total - before, before, total - before))
            return super().forward(x)

    def batch_norm(channels: int):
        return nn.BatchNorm2d(channels, eps=KERAS_BN_EPSILON, momentum=0.01)

    class ResidualBlock(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1, self.bn1 = SameConv(cin, cout, 3, stride), batch_norm(cout)
            self.conv2, self.bn2 = SameConv(cout, cout, 3, 1), batch_norm(cout)
            self.proj = self.proj_bn = None
            if stride != 1 or cin != cout:
                self.proj, self.proj_bn = SameConv(cin, cout, 1, stride), batch_norm(cout)

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            shortcut = x if self.proj is None else self.proj_bn(self.proj(x))
            return torch.relu(y + shortcut)

    class CompactResNet(nn.Module):
        """train.architectures.build_compact_resnet, returning logits."""

        def __init__(self, blocks, stem: int = 32, dropout: float = 0.3) -> None:
            super().__init__()
            self.stem_conv, self.stem_bn = SameConv(1, stem, 3, 1), batch_norm(stem)
            layers, cin = [], stem
            for filters, stride in blocks:
                layers.append(ResidualBlock(cin, filters, stride))
                cin = filters
            self.blocks = nn.ModuleList(layers)
            self.drop = nn.Dropout(dropout)
            self.probs = nn.Linear(cin, NUM_CLASSES)
            self.input_size = 48

        def forward(self, x):
            x = torch.relu(self.stem_bn(self.stem_conv(x)))
            for block in self.blocks:
                x = block(x)
            return self.probs(self.drop(x.mean(dim=(2, 3))))

    class MBConv(nn.Module):
        """EfficientNet-Lite's inverted residual block, named as efficientnet_pytorch names it
        (so a state_dict of the ImageNet package loads as it is)."""

        def __init__(self, args, drop_rate: float) -> None:
            super().__init__()
            hidden = args.filters_in * args.expand
            if args.expand != 1:
                self._expand_conv = SameConv(args.filters_in, hidden, 1, 1)
                self._bn0 = batch_norm(hidden)
            self._depthwise_conv = SameConv(hidden, hidden, args.kernel, args.stride, hidden)
            self._bn1 = batch_norm(hidden)
            self._project_conv = SameConv(hidden, args.filters_out, 1, 1)
            self._bn2 = batch_norm(args.filters_out)
            self.expand = args.expand != 1
            self.residual = args.stride == 1 and args.filters_in == args.filters_out
            self.drop_rate = drop_rate

        def forward(self, x):
            y = torch.nn.functional.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
            y = torch.nn.functional.relu6(self._bn1(self._depthwise_conv(y)))
            y = self._bn2(self._project_conv(y))
            if not self.residual:
                return y
            if self.training and self.drop_rate > 0:  # stochastic depth, per sample
                keep = torch.rand(y.shape[0], 1, 1, 1, device=y.device) >= self.drop_rate
                y = y * keep / (1 - self.drop_rate)
            return y + x

    class EfficientNetLite0(nn.Module):
        """train.efficientnet_lite's classifier; input N×1×H×W gray in 0..1 (replicated to three
        channels and normalised as (x·255 - 127) / 128 inside), output logits."""

        def __init__(
            self, stages, stem: int, head: int, input_size: int, drop_connect: float = 0.2
        ) -> None:
            super().__init__()
            self._conv_stem, self._bn0 = SameConv(3, stem, 3, 2), batch_norm(stem)
            self._blocks = nn.ModuleList(
                MBConv(args, drop_connect * index / len(stages)) for index, args in stages
            )
            self._conv_head = SameConv(stages[-1][1].filters_out, head, 1, 1)
            self._bn1 = batch_norm(head)
            self.drop = nn.Dropout(0.2)
            self.probs = nn.Linear(head, NUM_CLASSES)
            self.input_size = input_size

        def forward(self, x):
            x = (x * 255.0 - 127.0) / 128.0
            x = x.expand(-1, 3, -1, -1)
            x = torch.nn.functional.relu6(self._bn0(self._conv_stem(x)))
            for block in self._blocks:
                x = block(x)
            x = torch.nn.functional.relu6(self._bn1(self._conv_head(x)))
            return self.probs(self.drop(x.mean(dim=(2, 3))))

    class CustomCnn(nn.Module):
        """train.architectures' five_layer / six_layer: 3×3 conv (with bias), batch norm, ReLU,
        2×2 max pool (the first five blocks), dropout; then dense blocks (five_layer) or a
        global average pool (six_layer). Returns logits."""

        def __init__(self, filters, dense, dropout_scale: float) -> None:
            super().__init__()
            self.convs, self.bns = nn.ModuleList(), nn.ModuleList()
            cin = 1
            for width in filters:
                self.convs.append(nn.Conv2d(cin, width, 3, padding=1))  # "same" at stride 1
                self.bns.append(batch_norm(width))
                cin = width
            self.conv_drop = nn.Dropout(0.25 * dropout_scale)
            self.fcs, self.fc_bns = nn.ModuleList(), nn.ModuleList()
            for units in dense:
                self.fcs.append(nn.Linear(cin, units))
                self.fc_bns.append(nn.BatchNorm1d(units, eps=KERAS_BN_EPSILON, momentum=0.01))
                cin = units
            self.fc_drop = nn.Dropout(0.5 * dropout_scale)
            self.probs = nn.Linear(cin, NUM_CLASSES)
            self.input_size = 48

        def forward(self, x):
            for index, (conv, bn) in enumerate(zip(self.convs, self.bns, strict=True)):
                x = torch.relu(bn(conv(x)))
                if index < 5:
                    x = torch.nn.functional.max_pool2d(x, 2)
                x = self.conv_drop(x)
            x = x.mean(dim=(2, 3)) if not self.fcs else x.flatten(1)  # 1×1 left for five_layer
            for fc, bn in zip(self.fcs, self.fc_bns, strict=True):
                x = self.fc_drop(torch.relu(bn(fc(x))))
            return self.probs(x)

    return CompactResNet, EfficientNetLite0, CustomCnn


# EfficientNet-Lite0 twins by registered name: the same network at the input size of its spec.
LITE_TWINS = tuple(LITE0_INPUT_SIDES)
TWINS = ("compact_resnet", *LITE_TWINS, "five_layer", "six_layer")
# The custom CNNs' dropout in the torch engine: the paper's rates (0.25 / 0.5) held five_layer
# near the majority-class rate for the first epochs of short runs (train/recipes.py, `cpu`).
CUSTOM_DROPOUT_SCALE = 0.4


def build_torch_twin(architecture: str, backbone_weights: str | None = None) -> Any:
    """The torch twin of a registered architecture (input N×1×H×W gray in 0..1 at the
    architecture's size, output logits). backbone_weights: "imagenet" or a .pth file for
    efficientnet_lite0 (as `--backbone-weights` of the Keras engine)."""
    if architecture not in TWINS:
        raise UsageError(
            f"the torch trainer has no twin of '{architecture}'",
            hint=f"use --engine keras, or --arch {' or '.join(TWINS)}",
        )
    compact, lite, custom = _modules()
    if architecture == "five_layer":
        return custom((128, 256, 512, 1024, 1024), (512, 256), CUSTOM_DROPOUT_SCALE)
    if architecture == "six_layer":
        return custom((128, 256, 512, 1024, 1024, 2048), (), CUSTOM_DROPOUT_SCALE)
    if architecture == "compact_resnet":
        from fer_live.train.architectures import COMPACT_BLOCKS

        return compact(COMPACT_BLOCKS)
    from fer_live.train import efficientnet_lite as spec
    from fer_live.train.architectures import get_architecture

    size = get_architecture(architecture).spec.input_shape[0]
    twin = lite(spec.block_plan(), spec.STEM_FILTERS, spec.HEAD_FILTERS, size)
    if backbone_weights not in (None, "none"):
        path = (
            spec.packaged_weights_path() if backbone_weights == "imagenet" else backbone_weights
        )
        _load_lite_backbone(twin, spec.read_state_dict(path), source=str(path))
    return twin


def _load_lite_backbone(twin, state: dict[str, np.ndarray], source: str) -> None:
    """Set a Lite0 twin's backbone from torch-keyed arrays (ImageNet's `_fc.` head is not ours);
    every backbone tensor must be there."""
    import torch

    backbone = {
        key: torch.from_numpy(value) for key, value in state.items() if not key.startswith("_fc.")
    }
    missing, unexpected = twin.load_state_dict(backbone, strict=False)
    missing = [
        key for key in missing
        if not key.startswith("probs.") and not key.endswith("num_batches_tracked")
    ]
    if missing or unexpected:
        first = [*missing, *unexpected][0]
        raise UsageError(f"{source}: not EfficientNet-Lite0 weights ({first})")


# How a torch tensor becomes a Keras weight: convolution kernels are out×in×kh×kw in torch and
# kh×kw×in×out in Keras, dense kernels are transposed, the rest (biases, BN) are as they are.
_TO_KERAS = {"conv": (2, 3, 1, 0), "dense": (1, 0), "plain": None}
_FROM_KERAS = {"conv": (3, 2, 0, 1), "dense": (1, 0), "plain": None}


def _bn(bn) -> list:
    return [(t, "plain") for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var)]


def _dense(dense) -> list:
    return [(dense.weight, "dense"), (dense.bias, "plain")]


def _layer_pairs(twin) -> list[tuple[str, list]]:
    """(Keras layer name, [(torch tensor, kind), ...] in the layer's get_weights() order) for
    compact_resnet and the custom CNNs."""
    if hasattr(twin, "convs"):
        pairs = []
        for index, (conv, bn) in enumerate(zip(twin.convs, twin.bns, strict=True), start=1):
            pairs += [(f"conv{index}", [(conv.weight, "conv"), (conv.bias, "plain")]),
                      (f"bn{index}", _bn(bn))]
        for index, (fc, bn) in enumerate(zip(twin.fcs, twin.fc_bns, strict=True), start=1):
            pairs += [(f"fc{index}", _dense(fc)), (f"fc_bn{index}", _bn(bn))]
        return [*pairs, ("probs", _dense(twin.probs))]
    pairs = [("stem_conv", [(twin.stem_conv.weight, "conv")]), ("stem_bn", _bn(twin.stem_bn))]
    for index, block in enumerate(twin.blocks, start=1):
        name = f"block{index}"
        pairs += [
            (f"{name}_conv1", [(block.conv1.weight, "conv")]), (f"{name}_bn1", _bn(block.bn1)),
            (f"{name}_conv2", [(block.conv2.weight, "conv")]), (f"{name}_bn2", _bn(block.bn2)),
        ]
        if block.proj is not None:
            pairs += [(f"{name}_proj", [(block.proj.weight, "conv")]),
                      (f"{name}_proj_bn", _bn(block.proj_bn))]
    return [*pairs, ("probs", _dense(twin.probs))]


def _transposed(array: np.ndarray, axes) -> np.ndarray:
    return array if axes is None else np.ascontiguousarray(array.transpose(axes))


def copy_to_keras(twin, keras_model) -> None:
    """Set the registered Keras model's weights from its torch twin."""
    if hasattr(twin, "_conv_stem"):
        from fer_live.train.efficientnet_lite import load_imagenet_weights

        state = {key: value.detach().float().cpu().numpy() for key, value in
                 twin.state_dict().items()}
        load_imagenet_weights(keras_model, state)
        _set_keras_weights(keras_model, [("probs", _dense(twin.probs))])
        return
    _set_keras_weights(keras_model, _layer_pairs(twin))


def _set_keras_weights(keras_model, pairs) -> None:
    for name, tensors in pairs:
        keras_model.get_layer(name).set_weights([
            _transposed(tensor.detach().float().cpu().numpy(), _TO_KERAS[kind])
            for tensor, kind in tensors
        ])


def copy_from_keras(keras_model, twin) -> None:
    """The reverse: a trained Keras model's weights into its twin (fer-train --engine torch
    --init-from). A Lite0 model may come from any input side (e.g. 128 -> 224): the weights do
    not depend on it."""
    import torch

    if hasattr(twin, "_conv_stem"):
        from fer_live.train.efficientnet_lite import backbone_state_dict

        try:
            state = backbone_state_dict(keras_model)
        except ValueError as error:  # Keras's "no such layer"
            raise UsageError(f"--init-from: not an EfficientNet-Lite0 model ({error})") from error
        _load_lite_backbone(twin, state, source="--init-from")
        pairs = [("probs", _dense(twin.probs))]
    else:
        pairs = _layer_pairs(twin)
    with torch.no_grad():
        for name, tensors in pairs:
            try:
                weights = keras_model.get_layer(name).get_weights()
            except ValueError as error:
                raise UsageError(f"--init-from: the model has no layer {name}") from error
            for (tensor, kind), weight in zip(tensors, weights, strict=True):
                value = torch.from_numpy(_transposed(np.asarray(weight), _FROM_KERAS[kind]))
                if tuple(value.shape) != tuple(tensor.shape):
                    raise UsageError(
                        f"--init-from: layer {name} is {tuple(value.shape)} there and "
                        f"{tuple(tensor.shape)} here",
                        hint="--init-from needs an artifact of the same architecture",
                    )
                tensor.copy_(value.to(tensor.dtype))
