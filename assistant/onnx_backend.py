"""The classifier on ONNX Runtime (fp32 or static int8), and the one place that picks a backend.

OnnxClassifier answers exactly like Classifier (same class ids, preprocessing and Prediction),
so the service and batch classification take either from open_classifier(). No Qt.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

# numpy, torch and the checkpoint code are imported inside functions: `classify --help` and
# `serve --help` import this module for its flags and must stay instant.

log = logging.getLogger(__name__)

#: auto: the faster of torch/onnx for the model's architecture (same answers either way);
#: torch: eager PyTorch; onnx: ONNX Runtime fp32; onnx-int8: ONNX Runtime, static int8.
BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
DEFAULT_BACKEND = "auto"
#: Measured on a 2-core AVX2 CPU (scripts/bench_classify.py, README): ONNX Runtime fp32 runs
#: EfficientNet-Lite0 ~10x faster than eager PyTorch with 100% top-1 agreement, but ResNet-18
#: about half as fast. int8 is never chosen by itself: it cost Lite0 5 points of accuracy.
FASTEST = {"resnet18": "torch"}


class OnnxClassifier:
    """A checkpoint exported to ONNX and run by ONNX Runtime; thread-safe like Classifier."""

    def __init__(self, source: str | os.PathLike, int8: bool = False, threads: int | None = None,
                 calibration: list[str | os.PathLike] | None = None, device: str = "cpu") -> None:
        import onnxruntime as ort

        from assistant.checkpoint import Checkpoint, read_metadata
        from model.export import cached_onnx

        self.path = Path(source)
        meta = read_metadata(self.path)
        self.checkpoint = Checkpoint({}, meta, self.path)
        self.class_ids = self.checkpoint.class_ids
        self.preprocessing = self.checkpoint.preprocessing
        self.onnx_path = cached_onnx(self.path, int8=int8, calibration=calibration)
        self.backend = "onnx-int8" if int8 else "onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or 0  # 0: one thread per physical core
        providers = ["CPUExecutionProvider"]
        if device in ("auto", "cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.session = ort.InferenceSession(str(self.onnx_path), options, providers=providers)
        self.device = "cuda" if self.session.get_providers()[0].startswith("CUDA") else "cpu"
        self._input = self.session.get_inputs()[0].name

    def name(self, class_id: str, language: str = "en") -> str:
        return self.checkpoint.name(self.class_ids.index(class_id), language)

    def logits(self, batch):
        """Normalised N x 3 x S x S float tensor -> N x C logits (float32 tensor)."""
        import numpy as np
        import torch
        x = np.ascontiguousarray(batch.detach().cpu().float().numpy())
        return torch.from_numpy(self.session.run(None, {self._input: x})[0])

    def predict(self, rgb, k: int = 3):
        return self.predict_batch([rgb], k)[0]

    def predict_batch(self, pictures: list, k: int = 3) -> list:
        if not pictures:
            return []
        return self.predict_tensor(self.preprocessing.batch(pictures), k)

    def predict_tensor(self, batch, k: int = 3) -> list:
        return top_k(self.logits(batch), self.class_ids, k)


def top_k(logits, class_ids: list[str], k: int) -> list:
    """Logits -> best-first Predictions, exactly as Classifier.predict_tensor makes them."""
    import torch

    from assistant.classifier import Prediction
    probs = torch.softmax(logits.float(), dim=1)
    values, indices = probs.topk(min(k, probs.shape[1]), dim=1)
    return [Prediction([(class_ids[i], float(v)) for v, i in zip(vs.tolist(), ix.tolist(), strict=True)])
            for vs, ix in zip(values, indices, strict=True)]


def open_classifier(model: str | os.PathLike, backend: str = DEFAULT_BACKEND, device: str = "auto",
                    threads: int | None = None,
                    calibration: list[str | os.PathLike] | None = None):
    """A Classifier (torch) or OnnxClassifier for `model`, as the backend names.

    calibration: photo paths, needed only the first time onnx-int8 is used with a model.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    import torch

    from assistant.checkpoint import read_metadata
    if backend == "auto":
        gpu = device != "cpu" and torch.cuda.is_available()  # PyTorch on CUDA beats ORT on CPU
        backend = "torch" if gpu else FASTEST.get(read_metadata(model)["architecture"], "onnx")
        if backend == "onnx":
            try:
                return open_classifier(model, "onnx", device, threads)
            except Exception as exc:  # an export problem must not stop the app: PyTorch answers too
                log.warning("ONNX Runtime unavailable for %s (%s); using PyTorch", model, exc)
                backend = "torch"
    if backend == "torch":
        from assistant.classifier import Classifier
        clf = Classifier(model, device=device, threads=threads)
        clf.backend = "torch"
        return clf
    if threads:
        torch.set_num_threads(threads)  # softmax and batching stay in torch
    return OnnxClassifier(model, int8=backend == "onnx-int8", threads=threads,
                          calibration=calibration, device=device)


def add_backend_arguments(parser) -> None:
    """--model, --backend, --threads, --calibration: shared by `classify` and `serve`."""
    parser.add_argument("--model", metavar="FILE",
                        help="checkpoint (default: the model the app would load)")
    parser.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND,
                        help="auto: the faster of torch and onnx for this model (same answers); "
                             "torch: PyTorch; onnx: ONNX Runtime fp32; onnx-int8: ONNX Runtime "
                             "int8 (made once, calibrated on real photos; less accurate)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="compute threads for the model (default: one per core)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
