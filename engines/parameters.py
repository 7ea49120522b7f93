"""How many learned numbers a shipped model holds, counted in the ONNX file that runs it.

Counted from the ONNX graph rather than the Keras model so that it works on a runtime-only install
and describes the file users run: batch normalisation is folded into the convolutions there (the
Keras counts in `train/architectures.py` also hold each BN layer's four vectors), and an INT8
file's quantisation scales and zero points are bookkeeping, not parameters, so they are skipped.
"""

from __future__ import annotations

from pathlib import Path

from fer_live.engines.errors import ModelFileError
from fer_live.engines.model_files import ONNX_FILES
from fer_live.engines.store import Artifact

# Where a trained weight tensor sits as an initializer; scale/zero-point inputs of the Q/DQ nodes
# (positions 1 and 2) and integer shape constants are not weights.
_QDQ_OPS = {"QuantizeLinear", "DequantizeLinear"}
_WEIGHT_DTYPES = {"FLOAT", "FLOAT16", "BFLOAT16", "DOUBLE", "INT8", "UINT8", "INT32"}


def onnx_parameters(path: Path) -> int:
    """Elements of the weight initializers of one ONNX file."""
    import onnx

    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception as error:  # OSError, or protobuf's DecodeError for a damaged file
        raise ModelFileError(f"{path}: not a readable ONNX file ({error})") from error
    bookkeeping = {
        name for node in graph.node if node.op_type in _QDQ_OPS for name in node.input[1:]
    }
    total = 0
    for tensor in graph.initializer:
        dtype = onnx.TensorProto.DataType.Name(tensor.data_type)
        if tensor.name in bookkeeping or dtype not in _WEIGHT_DTYPES:
            continue
        count = 1
        for dim in tensor.dims:
            count *= dim
        total += count
    return total


def artifact_parameters(artifact: Artifact) -> int:
    """A model's parameters; an ensemble's or OVR set's are its members' together."""
    if artifact.members:
        return sum(artifact_parameters(member) for member in artifact.members)
    for precision in ("int8", "fp32", "fp16"):
        path = artifact.folder / ONNX_FILES[precision]
        if path.is_file():
            return onnx_parameters(path)
    raise ModelFileError(
        f"{artifact.folder}: no ONNX file to count parameters in",
        hint="fer-convert FOLDER --to onnx",
    )
