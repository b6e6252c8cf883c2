"""Load a checkpoint and name the product in a picture: top-k on CPU or CUDA. No Qt."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from assistant.architectures import build_model
from assistant.checkpoint import Checkpoint, CheckpointError, load_checkpoint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prediction:
    """Best-first (class id, probability) pairs."""

    top: list[tuple[str, float]]

    @property
    def label(self) -> str:
        return self.top[0][0]

    @property
    def score(self) -> float:
        return self.top[0][1]


class Classifier:
    """A loaded model. predict() is thread-safe; torch releases the GIL while it computes."""

    def __init__(self, source: str | Path | Checkpoint, device: str = "auto", bf16: bool | None = None,
                 threads: int | None = None) -> None:
        ckpt = source if isinstance(source, Checkpoint) else load_checkpoint(source)
        self.checkpoint = ckpt
        self.path = ckpt.path
        self.class_ids = ckpt.class_ids
        self.preprocessing = ckpt.preprocessing
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        if threads:
            torch.set_num_threads(threads)
        model = build_model(ckpt.architecture, len(self.class_ids), None, self.preprocessing.size)
        try:
            model.load_state_dict({k: v.float() if v.is_floating_point() else v
                                   for k, v in ckpt.state_dict.items()})
        except RuntimeError as exc:
            raise CheckpointError(f"{ckpt.path}: the weights do not fit a {ckpt.architecture} "
                                  f"with {len(self.class_ids)} products") from exc
        self.model = model.to(device).eval().to(memory_format=torch.channels_last)
        # bf16 halves CPU time where the CPU has native bf16 (AVX512-BF16/AMX) but is emulated,
        # and ~6x slower, on AVX2-only CPUs; CUDA uses it where supported
        self.bf16 = (cpu_has_bf16() if device == "cpu" else torch.cuda.is_bf16_supported()) \
            if bf16 is None else bf16
        self._lock = threading.Lock()

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
        probs = torch.softmax(self.logits(batch), dim=1)
        k = min(k, probs.shape[1])
        values, indices = probs.topk(k, dim=1)
        return [Prediction([(self.class_ids[i], float(v)) for v, i in zip(vs.tolist(), ix.tolist(), strict=True)])
                for vs, ix in zip(values, indices, strict=True)]


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (oneDNN's own test)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return True
