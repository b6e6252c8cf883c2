"""The PyTorch classifier: a checkpoint run eagerly on CPU or CUDA. No Qt.

Training, evaluation, export and the benchmarks use it; the app, `serve` and `classify` run
the ONNX export instead (assistant/inference/onnx_backend.py) and never import torch.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import torch

from assistant.inference.calibration import Calibration
from assistant.inference.checkpoint import Checkpoint, load_checkpoint
from assistant.inference.prediction import Prediction, check_finite_answers, probe_batch

log = logging.getLogger(__name__)


class Classifier:
    """A loaded model. predict() is thread-safe; torch releases the GIL while it computes."""

    backend = "torch"  # what inference.protocol.Classifier asks of every runtime

    def __init__(self, source: str | Path | Checkpoint, device: str = "auto", bf16: bool | None = None,
                 threads: int | None = None) -> None:
        ckpt = source if isinstance(source, Checkpoint) else load_checkpoint(source)
        self.checkpoint = ckpt
        self.path = ckpt.path
        self.class_ids = ckpt.class_ids
        self.preprocessing = ckpt.preprocessing
        self.calibration = Calibration.from_meta(ckpt.meta)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        if threads:
            torch.set_num_threads(threads)
        self.model = ckpt.network(device)
        if self.preprocessing.mirror:
            self.model = MirrorAverage(self.model)
        # fp32 on a CPU, whatever it is: bf16 changes answers (a few photos in a thousand) and
        # is emulated, ~6x slower, on AVX2-only CPUs; it is used only when asked for (bf16=True).
        # CUDA uses it where supported.
        if bf16 is None:
            bf16 = device != "cpu" and torch.cuda.is_bf16_supported()
        self.bf16 = bool(bf16)
        self.precision = "bf16" if self.bf16 else "fp32"
        self._lock = threading.Lock()
        check_finite_answers(self.logits(torch.from_numpy(probe_batch(self.preprocessing.size))),
                             self.path)

    def name(self, class_id: str, language: str = "en") -> str:
        return self.checkpoint.name(self.class_ids.index(class_id), language)

    @torch.inference_mode()
    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        """Normalised N x 3 x S x S float batch -> N x C logits (float32, CPU)."""
        x = batch.to(self.device).contiguous(memory_format=torch.channels_last)
        with torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16, enabled=self.bf16):
            return self.model(x).float().cpu()

    def predict(self, rgb: np.ndarray, k: int = 3) -> Prediction:
        return self.predict_batch([rgb], k)[0]

    def predict_batch(self, pictures: list[np.ndarray], k: int = 3) -> list[Prediction]:
        if not pictures:
            return []
        return self.predict_tensor(self.preprocessing.batch(pictures), k)

    def predict_tensor(self, batch: torch.Tensor, k: int = 3) -> list[Prediction]:
        return self.calibration.predictions(self.logits(batch).numpy(), self.class_ids, k)

    def predict_array(self, batch: np.ndarray, k: int = 3) -> list[Prediction]:
        """Normalised N x 3 x S x S float32 array (Preprocessing.normalize_array) -> Predictions."""
        return self.predict_tensor(torch.from_numpy(np.ascontiguousarray(batch)), k)


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (oneDNN's own test); unknown means no."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class MirrorAverage(torch.nn.Module):
    """A network that sees each picture and its mirror image (one batch of both) and answers
    the average of the two logits: `Preprocessing.mirror`. Exported to ONNX as it is."""

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        both = self.network(torch.cat([x, x.flip(-1)]))
        return (both[:n] + both[n:]) / 2
