"""TensorRT backend: runs the cached engine built from the artifact's FP16 or INT8 ONNX (GPU only).

Device memory and the stream come from NVIDIA's cuda-python bindings (`[gpu]` extra). Inputs
larger than the engine's batch range are run in chunks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_live.engines.backends.base import Backend
from fer_live.engines.backends.cuda_runtime import _check, _cudart, gpu_name, require_tensorrt
from fer_live.engines.errors import ProcessingError
from fer_live.engines.spec import ModelSpec


class TensorRTBackend(Backend):
    name = "tensorrt"

    def __init__(self, onnx_path: Path, spec: ModelSpec, max_batch: int = 64) -> None:
        super().__init__(onnx_path, spec)
        trt = require_tensorrt()
        self._cudart = cudart = _cudart()
        gpu_name()  # a clear "no GPU" before any build
        from fer_live.engines.convert.tensorrt_engine import build_engine_file

        engine_file = build_engine_file(onnx_path, spec, spec.precision, max_batch)
        self._runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = self._runtime.deserialize_cuda_engine(engine_file.read_bytes())
        if self.engine is None:
            raise ProcessingError(f"{engine_file}: TensorRT could not load the engine")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.input_name = inputs[0]
        self.output_name = next(n for n in names if n not in inputs)
        self.max_batch = max_batch
        self.classes = len(spec.labels)
        self._stream = _check(cudart.cudaStreamCreate())
        item = int(np.prod(spec.input_shape)) * 4
        self._d_input = _check(cudart.cudaMalloc(max_batch * item))
        self._d_output = _check(cudart.cudaMalloc(max_batch * self.classes * 4))
        self.context.set_tensor_address(self.input_name, int(self._d_input))
        self.context.set_tensor_address(self.output_name, int(self._d_output))

    def _run(self, pixels: np.ndarray) -> np.ndarray:
        cudart = self._cudart
        outputs = []
        for start in range(0, len(pixels), self.max_batch):
            chunk = np.ascontiguousarray(pixels[start : start + self.max_batch], np.float32)
            result = np.empty((len(chunk), self.classes), np.float32)
            self.context.set_input_shape(self.input_name, chunk.shape)
            _check(
                cudart.cudaMemcpyAsync(
                    self._d_input,
                    chunk.ctypes.data,
                    chunk.nbytes,
                    cudart.cudaMemcpyKind.cudaMemcpyHostToDevice,
                    self._stream,
                )
            )
            if not self.context.execute_async_v3(int(self._stream)):
                raise ProcessingError(f"{self.path}: TensorRT execution failed")
            _check(
                cudart.cudaMemcpyAsync(
                    result.ctypes.data,
                    self._d_output,
                    result.nbytes,
                    cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost,
                    self._stream,
                )
            )
            _check(cudart.cudaStreamSynchronize(self._stream))
            outputs.append(result)
        return np.concatenate(outputs)

    def close(self) -> None:
        cudart = getattr(self, "_cudart", None)
        if cudart is None or getattr(self, "_stream", None) is None:
            return
        for pointer in (self._d_input, self._d_output):
            cudart.cudaFree(pointer)
        cudart.cudaStreamDestroy(self._stream)
        self._stream = None
