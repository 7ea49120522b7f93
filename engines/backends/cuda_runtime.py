"""TensorRT and the CUDA runtime, imported on demand: what the TensorRT backend and the engine
builder (engines/convert/tensorrt_engine.py) both need, in one module below both."""

from __future__ import annotations

from fer_live.engines.errors import BackendUnavailableError, ProcessingError


def require_tensorrt():
    """Import TensorRT or say in one line what is missing."""
    try:
        import tensorrt
    except ImportError as error:
        raise BackendUnavailableError(
            "TensorRT is not installed",
            hint="pip install 'fer-live[gpu]' on a machine with an NVIDIA GPU, "
            "or use --backend onnxruntime",
        ) from error
    return tensorrt


def _cudart():
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        try:
            from cuda import cudart  # cuda-python before 12.6 named it so
        except ImportError as error:
            raise BackendUnavailableError(
                "cuda-python is not installed", hint="pip install 'fer-live[gpu]'"
            ) from error
    return cudart


def _check(result):
    """cuda-python returns (error, *values); raise on error, return the values."""
    error, *values = result if isinstance(result, tuple) else (result,)
    if int(error) != 0:
        raise ProcessingError(f"CUDA call failed: {error}")
    return values[0] if len(values) == 1 else values


def gpu_name() -> str:
    cudart = _cudart()
    try:
        count = _check(cudart.cudaGetDeviceCount())
    except ProcessingError as error:
        raise BackendUnavailableError("no NVIDIA GPU (CUDA driver unavailable)") from error
    if count < 1:
        raise BackendUnavailableError("no NVIDIA GPU found")
    properties = _check(cudart.cudaGetDeviceProperties(0))
    name = properties.name
    return (name.decode() if isinstance(name, bytes) else str(name)).strip("\x00 ")
