"""The classifier on OpenVINO in bf16: the third precision a model may be measured into.

On a CPU with bf16 units (AMX or AVX-512 BF16) OpenVINO runs the model's fp32 ONNX file with
its products in bf16 (INFERENCE_PRECISION_HINT), 2.5x ONNX Runtime fp32 for EfficientNet-Lite2
here. Whether a model may run so is measured like int8 (model.precision); this module only
runs it, and refuses on a CPU without bf16 units (OpenVINO would quietly fall back to f32 there,
and the measured choice would not be what runs). No torch, no Qt; openvino imported on use.
"""
from __future__ import annotations

import logging
import os

from assistant import machine
from assistant.inference.export import ensure_onnx
from assistant.inference.exported import ExportedModel
from assistant.inference.onnx_files import ExportError, cache_folder

log = logging.getLogger(__name__)


def openvino_available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


class OpenVinoClassifier(ExportedModel):
    """A checkpoint's fp32 ONNX file compiled by OpenVINO with bf16 products; answers like
    OnnxClassifier (thread-safe: each call makes its own inference request)."""

    backend = "openvino-bf16"
    precision = "bf16"
    device = "cpu"

    def __init__(self, source: str | os.PathLike, threads: int | None = None) -> None:
        from assistant.inference.prediction import check_finite_answers, probe_batch
        if not machine.has_bf16():
            raise ExportError("this CPU has no bf16 units (amx_bf16 or avx512_bf16): bf16 would "
                              "not be what was measured")
        try:
            import openvino as ov
        except ImportError as exc:
            raise ExportError("OpenVINO is not installed (pip install -e '.[openvino]')") from exc
        self._read(source)
        self.onnx_path = ensure_onnx(self.path)
        core = ov.Core()
        # compiled blobs kept per model and CPU by OpenVINO itself: later launches skip the compile
        core.set_property({"CACHE_DIR": str(cache_folder() / "openvino")})
        # LATENCY: one stream on all cores (THROUGHPUT makes a stream per core, and one
        # blocking call then runs on one of them)
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "bf16"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        try:
            self._compiled = core.compile_model(str(self.onnx_path), "CPU", config)
        except Exception as exc:  # noqa: BLE001 - OpenVINO raises its own RuntimeError kinds
            raise ExportError(f"{self.path}: OpenVINO cannot run its ONNX file ({exc})") from exc
        check_finite_answers(self.logits(probe_batch(self.preprocessing.size)), self.path)

    def logits(self, batch):
        """Normalised N x 3 x S x S float32 array -> N x C array."""
        import numpy as np
        x = np.ascontiguousarray(batch, dtype=np.float32)
        request = self._compiled.create_infer_request()
        return np.array(request.infer({0: x})[0])
