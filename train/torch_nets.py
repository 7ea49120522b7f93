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

KERAS_BN_EPSILON = 1e-3


def _modules():
    import torch
    from torch import nn

    class SameConv(nn.Module):
        """Conv2d without bias and with Keras's "same" padding."""

        def __init__(self, cin: int, cout: int, kernel: int, stride: int) -> None:
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=0, bias=False)
            self.kernel, self.stride = kernel, stride

        def forward(self, x):
            size = x.shape[-1]
            out = -(-size // self.stride)
            total = max((out - 1) * self.stride + self.kernel - size, 0)
            before, after = total // 2, total - total // 2
            if total:
                x = torch.nn.functional.pad(x, (before, after, before, after))
            return self.conv(x)

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

        def forward(self, x):
            x = torch.relu(self.stem_bn(self.stem_conv(x)))
            for block in self.blocks:
                x = block(x)
            return self.probs(self.drop(x.mean(dim=(2, 3))))

    return CompactResNet


def build_torch_twin(architecture: str) -> Any:
    """The torch twin of a registered architecture (inputs N×1×48×48 in 0..1, output logits)."""
    if architecture != "compact_resnet":
        raise UsageError(
            f"the torch trainer has no twin of '{architecture}'",
            hint="use --engine keras, or --arch compact_resnet",
        )
    from fer_live.train.architectures import COMPACT_BLOCKS

    return _modules()(COMPACT_BLOCKS)


def _conv_kernel(conv) -> np.ndarray:
    # torch out×in×kh×kw -> Keras kh×kw×in×out
    return conv.conv.weight.detach().float().cpu().numpy().transpose(2, 3, 1, 0)


def _bn_weights(bn) -> list[np.ndarray]:
    return [
        tensor.detach().float().cpu().numpy()
        for tensor in (bn.weight, bn.bias, bn.running_mean, bn.running_var)
    ]


def copy_to_keras(twin, keras_model) -> None:
    """Set the Keras compact_resnet's weights from its torch twin (names as in architectures)."""
    layer = keras_model.get_layer
    layer("stem_conv").set_weights([_conv_kernel(twin.stem_conv)])
    layer("stem_bn").set_weights(_bn_weights(twin.stem_bn))
    for index, block in enumerate(twin.blocks, start=1):
        name = f"block{index}"
        layer(f"{name}_conv1").set_weights([_conv_kernel(block.conv1)])
        layer(f"{name}_bn1").set_weights(_bn_weights(block.bn1))
        layer(f"{name}_conv2").set_weights([_conv_kernel(block.conv2)])
        layer(f"{name}_bn2").set_weights(_bn_weights(block.bn2))
        if block.proj is not None:
            layer(f"{name}_proj").set_weights([_conv_kernel(block.proj)])
            layer(f"{name}_proj_bn").set_weights(_bn_weights(block.proj_bn))
    dense = twin.probs
    layer("probs").set_weights(
        [dense.weight.detach().float().cpu().numpy().T, dense.bias.detach().float().cpu().numpy()]
    )
