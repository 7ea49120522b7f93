"""Keras weights recovered from a shipped ONNX file, so `fer-train --init-from` can continue a
model whose artifact ships no `model.keras` (compact_resnet and six_layer ship INT8 ONNX only,
to stay inside the package's size budget, and run folders do not outlive a machine).

tf2onnx keeps the Keras layer names in its tensor names
(`compact_resnet_1/stem_conv_1/convolution/merged_input:0`, folded biases
`.../stem_bn_1/batchnorm/sub:0`), so every Conv and Gemm of the graph is matched to its layer by
name, never by position. INT8 files are dequantized (their weights carry the quantization
error, which the continued training removes).

tf2onnx folds each BatchNormalization into the convolution before it: the file holds W' = W·γ/σ
and b' = β − μ·γ/σ, not γ, β, μ and σ. The BN layer gets statistics that keep the function: with
m and s² the per-channel mean and variance of W'x over sample faces, moving mean m, moving
variance s², γ = √(s² + ε) and β = m + b' give exactly W'x + b' in inference, and batches that look
like the sample give about the same in training, so the first steps of the new run start from
the shipped model's behaviour rather than from BN layers that rescale everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_live.engines.convert.dequantize import dequantized_value
from fer_live.engines.errors import ModelFileError

# Path segments of tf2onnx tensor names that come after the layer's own name.
_OP_SEGMENTS = ("convolution", "Cast", "MatMul", "BiasAdd", "ReadVariableOp", "batchnorm", "Conv2D")
_KERAS_SUFFIX = re.compile(r"_\d+$")


@dataclass(frozen=True)
class OnnxLayer:
    """One Conv or Gemm of the graph: the Keras layer it came from and its float weights."""

    name: str  # the Conv2D / Dense layer
    kernel: np.ndarray  # in Keras layout
    bias: np.ndarray | None
    bias_owner: str | None  # the layer the bias belongs to: a folded BN, or the layer itself


def layer_name(tensor_name: str) -> str | None:
    """The Keras layer named in a tf2onnx tensor name, or None when the name was folded away."""
    segments = tensor_name.split("/")
    for index, segment in enumerate(segments[1:], start=1):
        if segment.split(":")[0] in _OP_SEGMENTS:
            return _KERAS_SUFFIX.sub("", segments[index - 1])
    return None


def read_onnx_layers(path: Path) -> list[OnnxLayer]:
    """Every Conv and Gemm of an FP32 or INT8 (QDQ) ONNX file, with dequantized weights."""
    import onnx
    from onnx import numpy_helper

    try:
        graph = onnx.load(str(path)).graph
    except Exception as error:  # onnx raises DecodeError, OSError, ...
        raise ModelFileError(f"{path}: not a readable ONNX file ({error})") from error
    protos = {init.name: init for init in graph.initializer}
    initializers = {name: numpy_helper.to_array(init) for name, init in protos.items()}
    producers = {output: node for node in graph.node for output in node.output}

    def value(name: str) -> np.ndarray:
        if name in initializers:
            return initializers[name].astype(np.float32)
        node = producers.get(name)
        if node is not None and node.op_type == "DequantizeLinear":
            return dequantized_value(node, protos)
        if node is not None and node.op_type == "Identity":
            return value(node.input[0])
        raise ModelFileError(f"{path}: weight {name} is computed in the graph, not stored")

    layers = []
    for node in graph.node:
        if node.op_type not in ("Conv", "Gemm", "MatMul"):
            continue
        weight_name = _source_name(node.input[1], producers)
        name = layer_name(weight_name)
        if name is None:
            raise ModelFileError(
                f"{path}: {node.op_type} {node.name} holds weights without a layer name "
                f"({weight_name})",
                hint="this file's weights cannot be matched to Keras layers; train from scratch",
            )
        weights = value(node.input[1])
        if node.op_type == "Conv":
            if _attribute(node, "group", 1) != 1:
                raise ModelFileError(f"{path}: grouped convolution {node.name} is not supported")
            kernel = weights.transpose(2, 3, 1, 0)  # O,I,kh,kw -> kh,kw,I,O
        elif node.op_type == "Gemm" and _attribute(node, "transB", 0):
            kernel = weights.T
        else:
            kernel = weights
        bias = bias_owner = None
        if len(node.input) > 2 and node.input[2]:
            bias_source = _source_name(node.input[2], producers)
            bias = value(node.input[2])
            bias_owner = layer_name(bias_source) or name
        layers.append(OnnxLayer(name, kernel, bias, bias_owner))
    if not layers:
        raise ModelFileError(f"{path}: no Conv or Gemm with weights")
    return layers


def load_onnx_weights(model, path: Path, sample: np.ndarray) -> list[str]:
    """Copy the file's weights into `model` (same architecture) and return the layers set.

    sample: model inputs (preprocessed faces) for the folded BN layers' statistics.
    """
    import keras

    layers = read_onnx_layers(path)
    found = {layer.name for layer in model.layers}
    missing = sorted({item.name for item in layers} - found)
    if missing:
        raise ModelFileError(
            f"{path}: layers {', '.join(missing[:5])} are not in {model.name}",
            hint="--init-from needs an artifact of the same architecture",
        )
    folded: dict[str, np.ndarray] = {}
    for item in layers:
        target = model.get_layer(item.name)
        current = target.get_weights()
        if tuple(current[0].shape) != item.kernel.shape:
            raise ModelFileError(
                f"{path}: {item.name} has shape {item.kernel.shape} there, "
                f"{tuple(current[0].shape)} here"
            )
        if item.bias is not None and item.bias_owner != item.name:
            owner = model.get_layer(item.bias_owner)
            if not isinstance(owner, keras.layers.BatchNormalization):
                raise ModelFileError(f"{path}: {item.bias_owner} is not a BatchNormalization")
            folded[item.bias_owner] = item.bias
            target.set_weights([item.kernel, *current[1:]])
        elif item.bias is not None:
            target.set_weights([item.kernel, item.bias])
        else:
            target.set_weights([item.kernel, *current[1:]])
    _fit_folded_batch_norms(model, folded, sample)
    return [item.name for item in layers] + sorted(folded)


def _fit_folded_batch_norms(model, folded: dict[str, np.ndarray], sample: np.ndarray) -> None:
    """γ, β and moving statistics that make each BN reproduce W'x + b' (module docstring)."""
    import keras

    if not folded:
        return
    norms = [model.get_layer(name) for name in folded]
    # First every BN as exactly x + b' (γ 1, mean 0, variance 1 − ε), so that each one's input
    # in the probe is what the shipped model computes there; a BN still at its fresh
    # initialisation would hand the layers after it inputs of another scale.
    for layer in norms:
        channels = folded[layer.name].shape[0]
        ones, zeros = np.ones(channels, np.float32), np.zeros(channels, np.float32)
        layer.set_weights([ones, folded[layer.name], zeros, ones - layer.epsilon])
    probe = keras.Model(model.inputs, [layer.input for layer in norms])
    outputs = probe.predict(sample, batch_size=256, verbose=0)
    if len(norms) == 1:
        outputs = [outputs]
    for layer, features in zip(norms, outputs, strict=True):
        axes = tuple(range(features.ndim - 1))
        mean = features.mean(axis=axes)
        variance = features.var(axis=axes)
        gamma = np.sqrt(variance + layer.epsilon)
        layer.set_weights([gamma, mean + folded[layer.name], mean, variance])


def _source_name(name: str, producers: dict) -> str:
    """The stored tensor behind a DequantizeLinear/Identity output (it keeps the layer name)."""
    node = producers.get(name)
    while node is not None and node.op_type in ("DequantizeLinear", "Identity"):
        name = node.input[0]
        node = producers.get(name)
    return name.removesuffix("_quantized")


def _attribute(node, name: str, default: int) -> int:
    from onnx import helper

    values = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return int(values.get(name, default))
