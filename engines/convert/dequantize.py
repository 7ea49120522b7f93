"""INT8 Q/DQ ONNX -> FP32 ONNX: the weights the INT8 model computes with, as plain floats.

For recovery, when an artifact's FP32 model is gone but its INT8 file remains (shipped models keep
only INT8 where the FP32 file would not fit the size budget): every weight or bias DequantizeLinear
becomes a float32 initializer ((q - zero_point) * scale, per channel where the node has an axis),
and every activation QuantizeLinear -> DequantizeLinear pair becomes a Clip to the range it can
represent. The Clip is needed, not cosmetic: ONNX Runtime's quantizer drops a Relu that feeds a
UINT8 Q whose zero point is 0, leaving the clamp to the Q/DQ pair. The result can be
quantized again, e.g. with different settings (`fer-convert --to int8`); its accuracy is that of
FP32 weights rounded once to 8 bits, which per channel costs little (recorded where it is used).

    python -m fer_live.engines.convert.dequantize IN.int8.onnx OUT.onnx
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_live.engines.errors import ModelFileError


def dequantized_value(node, initializers: dict) -> np.ndarray:
    """(q - zero_point) * scale of a DequantizeLinear whose inputs are initializer protos."""
    from onnx import helper, numpy_helper

    quantized = numpy_helper.to_array(initializers[node.input[0]]).astype(np.float32)
    scale = numpy_helper.to_array(initializers[node.input[1]]).astype(np.float32)
    zero_point = (
        numpy_helper.to_array(initializers[node.input[2]]).astype(np.float32)
        if len(node.input) > 2 and node.input[2]
        else np.zeros_like(scale)
    )
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if scale.ndim == 1 and scale.size > 1:  # per channel along `axis`
        shape = [1] * quantized.ndim
        shape[attributes.get("axis", 1)] = scale.size
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return (quantized - zero_point) * scale


def _representable_range(quantize, initializers: dict) -> tuple[float, float]:
    """The float interval a QuantizeLinear -> DequantizeLinear pair maps its input into."""
    from onnx import TensorProto, numpy_helper

    scale = float(numpy_helper.to_array(initializers[quantize.input[1]]))
    zero_point_init = initializers[quantize.input[2]]
    zero_point = float(numpy_helper.to_array(zero_point_init))
    low, high = (0, 255) if zero_point_init.data_type == TensorProto.UINT8 else (-128, 127)
    return (low - zero_point) * scale, (high - zero_point) * scale


def _unused_name(name: str, taken: set[str]) -> str:
    unique, counter = name, 1
    while unique in taken:
        unique, counter = f"{name}_{counter}", counter + 1
    taken.add(unique)
    return unique


def dequantize_qdq(int8_path: Path, out_path: Path) -> Path:
    """Write the FP32 form of `int8_path` (an artifact's INT8 file) to `out_path`."""
    import onnx
    from onnx import helper, numpy_helper

    from fer_live.engines.convert.onnx_export import save_onnx_atomic, set_spec_metadata
    from fer_live.engines.spec import load_spec

    model = onnx.load(str(int8_path))
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    producers = {output: node for node in graph.node for output in node.output}
    taken = set(initializers) | set(producers)  # a file recovered before already has Clips
    clips = []
    new_initializers = []
    dropped = []
    for node in graph.node:
        if node.op_type != "DequantizeLinear":
            continue
        if node.input[0] in initializers:  # a weight or bias
            value = dequantized_value(node, initializers)
            new_initializers.append(numpy_helper.from_array(value, node.output[0]))
            dropped.append(node)
            continue
        quantize = producers.get(node.input[0])
        if quantize is None or quantize.op_type != "QuantizeLinear":
            raise ModelFileError(f"{int8_path}: DequantizeLinear {node.name} has no QuantizeLinear")
        low, high = _representable_range(quantize, initializers)
        bounds = [_unused_name(f"{node.output[0]}_clip_{end}", taken) for end in ("min", "max")]
        new_initializers += [
            numpy_helper.from_array(np.array(low, np.float32), bounds[0]),
            numpy_helper.from_array(np.array(high, np.float32), bounds[1]),
        ]
        clips.append(
            helper.make_node("Clip", [quantize.input[0], *bounds], [node.output[0]], node.name)
        )
        dropped.extend([node, quantize])
    if not dropped:
        raise ModelFileError(f"{int8_path}: no Q/DQ nodes, not an INT8 Q/DQ model")
    dropped_ids = {id(node) for node in dropped}
    # A Clip takes the place of its DQ node, so the graph stays topologically sorted.
    kept = []
    clip_of = {clip.output[0]: clip for clip in clips}
    for node in graph.node:
        if id(node) not in dropped_ids:
            kept.append(node)
        elif node.op_type == "DequantizeLinear" and node.output[0] in clip_of:
            kept.append(clip_of[node.output[0]])
    del graph.node[:]
    graph.node.extend(kept)
    used = {name for node in kept for name in node.input}
    remaining = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(remaining + [i for i in new_initializers if i.name in used])
    set_spec_metadata(model, load_spec(int8_path.parent).with_precision("fp32"))
    onnx.checker.check_model(model)
    save_onnx_atomic(model, out_path)
    return out_path


def main(int8_path: Path, out_path: Path) -> None:
    """Recover the float model of an INT8 Q/DQ file (needs the artifact's spec.json beside it)."""
    from fer_live.engines.cli_support import run_cli, stderr_console

    def work() -> None:
        if not int8_path.is_file():
            raise ModelFileError(f"{int8_path}: no such file")
        stderr_console().print(f"wrote {dequantize_qdq(int8_path, out_path)}")

    run_cli(work)


if __name__ == "__main__":
    import typer

    typer.run(main)
