"""FP32 ONNX -> FP16 ONNX (FP32 inputs/outputs) and INT8 ONNX with explicit Q/DQ nodes.

INT8 is ONNX Runtime static quantization in QDQ format: symmetric per-channel INT8 weights,
activations calibrated on real face crops passed in by the caller (the training split, never the
test split), preprocessed by the same `to_model_input` as at run time. (Dynamic quantization was
slower than FP32 on these CPUs, so it is not offered.)

Two activation schemes, one per target (`INT8_TARGETS`):
- "cpu": asymmetric UINT8 activations x INT8 weights (U8S8), the pair ONNX Runtime's x86 kernels
  (AVX2 / AVX512-VNNI) are fastest with: five_layer batch 32 measured 39-44 ms against 57-59 ms
  for symmetric INT8 activations on the same CPU.
- "tensorrt": symmetric INT8 activations (zero point 0), the only form TensorRT's explicit
  quantization accepts. Runs on ONNX Runtime too, just slower.

Weights use 7 bits (reduce_range) in both forms: x86 CPUs without VNNI multiply u8 x s8 pairs
into saturating 16-bit sums (VPMADDUBSW), and full-range weights overflow them. Measured on an
AVX2-only AMD EPYC, five_layer PrivateTest: 0.6043 (U8S8) and 0.3048 (S8S8) with 8-bit weights,
0.6567 and 0.6581 with 7-bit, 0.6573 in Keras. CPUs with VNNI are unaffected either way.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from fer_live.engines.convert.onnx_export import save_onnx_atomic, set_spec_metadata
from fer_live.engines.errors import UnknownNameError
from fer_live.engines.spec import ModelSpec

CALIBRATION_METHODS = ("minmax", "entropy", "percentile")
ACTIVATION_SCHEMES = {"cpu": "asymmetric-uint8", "tensorrt": "symmetric-int8"}
INT8_TARGETS = tuple(ACTIVATION_SCHEMES)
WEIGHT_FORMAT = "QDQ, symmetric per-channel INT8 weights in 7 bits (reduce_range)"


def convert_fp16(fp32_path: Path, spec: ModelSpec, out_path: Path) -> Path:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(fp32_path))
    # keep_io_types: callers keep feeding float32 and reading float32.
    half = convert_float_to_float16(model, keep_io_types=True)
    set_spec_metadata(half, spec.with_precision("fp16"))
    save_onnx_atomic(half, out_path)
    return out_path


class _FaceBatches:
    """onnxruntime CalibrationDataReader over model-ready pixels, in batches."""

    def __init__(self, input_name: str, pixels: np.ndarray, batch_size: int) -> None:
        self._batches = iter(
            [{input_name: pixels[i : i + batch_size]} for i in range(0, len(pixels), batch_size)]
        )

    def get_next(self):
        return next(self._batches, None)


def convert_int8(
    fp32_path: Path,
    spec: ModelSpec,
    out_path: Path,
    calibration_pixels: np.ndarray,
    method: str = "minmax",
    batch_size: int = 64,
    target: str = "cpu",
) -> Path:
    """Static INT8 Q/DQ quantization calibrated on `calibration_pixels` (to_model_input output)."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    methods = {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }
    if method not in methods:
        raise UnknownNameError("calibration method", method, CALIBRATION_METHODS)
    if target not in INT8_TARGETS:
        raise UnknownNameError("INT8 target", target, INT8_TARGETS)
    symmetric = target == "tensorrt"
    input_name = onnx.load(str(fp32_path), load_external_data=False).graph.input[0].name

    class Reader(_FaceBatches, CalibrationDataReader):
        pass

    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        quantized = Path(scratch) / "int8.onnx"
        quantize_static(
            str(prepared),
            str(quantized),
            Reader(input_name, calibration_pixels.astype(np.float32), batch_size),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QInt8 if symmetric else QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=methods[method],
            # 7-bit weights for both forms: symmetric INT8 activations overflow on AVX2 as well
            # (ONNX Runtime's x86 kernels multiply them as u8 x s8 too), measured worse still:
            # five_layer 0.3048 with 8-bit weights, 0.6581 with 7-bit. TensorRT takes either.
            reduce_range=True,
            extra_options={"ActivationSymmetric": symmetric, "WeightSymmetric": True},
        )
        model = onnx.load(str(quantized))
    keep_outputs_float(model)
    set_spec_metadata(model, spec.with_precision("int8"))
    save_onnx_atomic(model, out_path)
    return out_path


# Ops that only move or join values: a Q/DQ pair between them and the output adds rounding and
# no speed.
_PASS_THROUGH = ("Concat", "Identity", "Reshape", "Flatten")


def keep_outputs_float(proto) -> int:
    """Remove the QuantizeLinear -> DequantizeLinear pairs on the way to the graph outputs
    (through Concat/Reshape), so the final Softmax/Sigmoid values leave the model in float.
    Quantized, they came in steps of 1/255 (CSV values 0.0078, 0.0118, ...) and rows did not sum
    to 1; the convolutions, where the time goes, stay INT8. Returns the pairs removed."""
    from onnx import helper

    graph = proto.graph
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            consumers[name] = consumers.get(name, 0) + 1
    removed: list = []

    def float_source(tensor: str) -> str | None:
        dq = producer.get(tensor)
        if dq is None or dq.op_type != "DequantizeLinear":
            return None
        q = producer.get(dq.input[0])
        if q is None or q.op_type != "QuantizeLinear" or consumers.get(q.output[0], 0) != 1:
            return None
        removed.extend([dq, q])
        return q.input[0]

    def unquantize(tensor: str, is_output: bool) -> None:
        source = float_source(tensor)
        if source is not None:
            dq = producer[tensor]
            if is_output:  # keep the output's name: an Identity from the float tensor
                graph.node.insert(
                    list(graph.node).index(dq),
                    helper.make_node("Identity", [source], [tensor], name=f"{tensor}_float"),
                )
            tensor = source
        node = producer.get(tensor)
        if node is not None and node.op_type in _PASS_THROUGH:
            data_inputs = node.input if node.op_type == "Concat" else node.input[:1]
            for index, name in enumerate(data_inputs):
                inner = float_source(name)
                if inner is not None:
                    node.input[index] = inner

    for output in graph.output:
        unquantize(output.name, is_output=True)
    for node in removed:
        if node in graph.node:
            graph.node.remove(node)
    used = {name for node in graph.node for name in node.input}
    for initializer in [i for i in graph.initializer if i.name not in used]:
        graph.initializer.remove(initializer)  # the removed pairs' scales and zero points
    return len(removed) // 2


def keep_file_outputs_float(path: Path) -> int:
    """keep_outputs_float on an INT8 file in place (shipped files quantized before it existed)."""
    import onnx

    proto = onnx.load(str(path))
    count = keep_outputs_float(proto)
    if count:
        onnx.checker.check_model(proto)
        save_onnx_atomic(proto, path)
    return count


if __name__ == "__main__":
    import sys

    for file in sys.argv[1:]:
        print(f"{file}: {keep_file_outputs_float(Path(file))} output Q/DQ pairs removed")


def activation_scheme(int8_path: Path) -> str:
    """ "symmetric-int8" or "asymmetric-uint8", read from the Q/DQ file's activation zero points.

    Weights are always INT8, so any UINT8 zero point belongs to an activation.
    """
    import onnx

    model = onnx.load(str(int8_path))
    initializers = {init.name: init for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "QuantizeLinear" and len(node.input) > 2:
            zero_point = initializers.get(node.input[2])
            if zero_point is not None and zero_point.data_type == onnx.TensorProto.UINT8:
                return ACTIVATION_SCHEMES["cpu"]
    return ACTIVATION_SCHEMES["tensorrt"]
