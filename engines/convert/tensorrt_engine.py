"""TensorRT engines from the artifact's FP16 or INT8 (Q/DQ) ONNX, cached, for batch 1..64.

TensorRT 10 and 11 differ in one place, `_network_flags_and_precision`: 11 removed the FP16/INT8
builder flags and the INT8 calibrator and builds only strongly typed networks, whose precision
comes from the ONNX itself (FP16 weights, or Q/DQ nodes); 10 builds a weakly typed network and is
told FP16/INT8 by builder flags (INT8 still from the Q/DQ scales: explicit quantization, no
calibrator). Engines are cached by ONNX hash + TensorRT version + GPU name + batch range, so each
is built once per machine, with an integrity record (SHA-256 of the engine and of its ONNX) that
is checked before every load.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from fer_live.engines.atomic import write_atomic
from fer_live.engines.backends.cuda_runtime import gpu_name, require_tensorrt
from fer_live.engines.errors import ModelFileError, ProcessingError
from fer_live.engines.model_files import ONNX_FILES
from fer_live.engines.spec import ModelSpec

log = logging.getLogger(__name__)
ENGINE_DIR = "engines"
WORKSPACE_BYTES = 1 << 30


def trt_major(trt) -> int:
    return int(trt.__version__.split(".")[0])


def engine_path(onnx_path: Path, precision: str, max_batch: int) -> Path:
    """Cache location: beside the ONNX, keyed by everything that makes an engine differ."""
    trt = require_tensorrt()
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()[:16]
    key = hashlib.sha256(f"{digest}|{trt.__version__}|{gpu_name()}|1-{max_batch}".encode())
    return onnx_path.parent / ENGINE_DIR / f"{precision}-{key.hexdigest()[:16]}.engine"


def _network_flags_and_precision(trt, builder_config, precision: str) -> int:
    if trt_major(trt) >= 11:
        return 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    if precision in ("fp16", "int8"):
        builder_config.set_flag(trt.BuilderFlag.FP16)  # layers left unquantized run in FP16
    if precision == "int8":
        builder_config.set_flag(trt.BuilderFlag.INT8)
    return 0


def build_engine_file(
    onnx_path: Path, spec: ModelSpec, precision: str, max_batch: int = 64
) -> Path:
    """Build (or reuse) the serialized engine for `onnx_path`; returns its path."""
    trt = require_tensorrt()
    target = engine_path(onnx_path, precision, max_batch)
    if target.is_file():
        verify_engine(target, onnx_path)
        return target
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    network = builder.create_network(_network_flags_and_precision(trt, config, precision))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelFileError(f"{onnx_path}: TensorRT cannot parse the ONNX ({errors})")
    name = network.get_input(0).name
    profile = builder.create_optimization_profile()
    shape = spec.input_shape
    profile.set_shape(name, (1, *shape), (min(8, max_batch), *shape), (max_batch, *shape))
    config.add_optimization_profile(profile)
    log.info("building TensorRT %s engine for %s (first run only)", precision, onnx_path)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ProcessingError(f"{onnx_path}: TensorRT could not build a {precision} engine")
    target.parent.mkdir(exist_ok=True)
    data = bytes(serialized)
    write_atomic(target, lambda temporary: temporary.write_bytes(data))
    record_engine(target, onnx_path, {"tensorrt": trt.__version__, "gpu": gpu_name()})
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_path(engine: Path) -> Path:
    return engine.with_name(engine.name + ".json")


def record_engine(engine: Path, onnx_path: Path, extra: dict | None = None) -> Path:
    """Write the engine's integrity record: its SHA-256 and that of the ONNX it was built from.
    A TensorRT engine is native code's input: one placed in a model folder by someone else, or
    left from another ONNX, must never be deserialized (verify_engine)."""
    from fer_live.engines.artifacts import write_json_atomic

    record = {"engine_sha256": _sha256(engine), "onnx_sha256": _sha256(onnx_path), **(extra or {})}
    write_json_atomic(record_path(engine), record)
    return record_path(engine)


def verify_engine(engine: Path, onnx_path: Path) -> None:
    """Refuse an engine file without a record, or whose bytes or source ONNX differ from it."""
    import json

    try:
        record = json.loads(record_path(engine).read_text(encoding="utf-8"))
        expected_engine, expected_onnx = record["engine_sha256"], record["onnx_sha256"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelFileError(
            f"{engine}: TensorRT engine without a valid integrity record ({error})",
            hint="delete the file: fer-live builds and records a new one",
        ) from error
    if _sha256(engine) != expected_engine or _sha256(onnx_path) != expected_onnx:
        raise ModelFileError(
            f"{engine}: TensorRT engine does not match its record (changed, or built from "
            "another ONNX); refusing to load it",
            hint="delete the file: fer-live builds and records a new one",
        )


def _require_symmetric_activations(int8_path: Path) -> None:
    from fer_live.engines.convert.quantize import ACTIVATION_SCHEMES, activation_scheme

    if activation_scheme(int8_path) != ACTIVATION_SCHEMES["tensorrt"]:
        raise ModelFileError(
            f"{int8_path}: its INT8 activations are asymmetric UINT8 (the CPU form); TensorRT "
            "needs symmetric INT8",
            hint="fer-convert NAME --to int8 --int8-for tensorrt --calib-data DATA",
        )


def build_engine(
    folder: Path, spec: ModelSpec, precision: str = "auto", max_batch: int = 64
) -> Path:
    """fer-convert --to tensorrt: from model.int8.onnx if present (auto), else model.fp16.onnx."""
    require_tensorrt()  # say what is missing on this machine before looking at the files
    gpu_name()
    order = ["int8", "fp16"] if precision == "auto" else [precision]
    for candidate in order:
        onnx_path = folder / ONNX_FILES[candidate]
        if onnx_path.is_file():
            if candidate == "int8":
                _require_symmetric_activations(onnx_path)
            return build_engine_file(onnx_path, spec, candidate, max_batch)
    raise ModelFileError(
        f"{folder}: no {' or '.join(ONNX_FILES[p] for p in order)} to build from",
        hint="fer-convert NAME --to int8 (or fp16) first",
    )
