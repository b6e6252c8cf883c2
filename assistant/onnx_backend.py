"""The classifier on ONNX Runtime (fp32 or static int8), and the one place that picks a backend.

The app, `serve` and `classify` run models here and never import torch: the checkpoint stays
the source of truth (safetensors + metadata) and its ONNX file is derived from it, named by
the checkpoint's SHA-256, checked against the SHA stamped inside it, and rebuilt when it does
not match or cannot be read. Train, retrain, activation and the set-up command build it ahead
(ensure_onnx), so a model is ready before it is used; a missing one is built in a child
process, which imports torch instead of us. No Qt.
"""
from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path

# numpy and onnxruntime are imported inside functions: `classify --help` and `serve --help`
# import this module for its flags and must stay instant.

log = logging.getLogger(__name__)

#: auto: ONNX Runtime fp32 on a CPU (same answers as PyTorch, 2-10x faster, no torch in the
#: process), PyTorch on an NVIDIA GPU; torch: eager PyTorch; onnx: ONNX Runtime fp32;
#: onnx-int8: ONNX Runtime, static int8 (never chosen by itself: see README, "Backends").
BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
DEFAULT_BACKEND = "auto"
#: where a checkpoint's ONNX files are looked for: `onnx/` beside it (the set-up command
#: builds the bundled ones there), then the user cache (where new ones are written)
ONNX_FOLDER = "onnx"
EXPORT_TIMEOUT_S = 600


class ExportError(RuntimeError):
    """The ONNX file could not be made; the message says why."""


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def onnx_name(sha256: str, int8: bool = False) -> str:
    return f"{sha256}.int8.onnx" if int8 else f"{sha256}.onnx"


def cache_folder() -> Path:
    from assistant import paths
    return paths.cache_dir() / ONNX_FOLDER


def candidates(checkpoint: Path, sha256: str, int8: bool = False) -> list[Path]:
    """Where an ONNX file of this checkpoint may already lie, in the order they are tried."""
    name = onnx_name(sha256, int8)
    return [checkpoint.parent / ONNX_FOLDER / name, cache_folder() / name]


def stamped_sha(onnx_path: Path) -> str | None:
    """The checkpoint SHA-256 stamped inside an ONNX file, or None when it cannot be read.

    Read straight from the protobuf (ModelProto.metadata_props, field 14) rather than with
    the onnx package, whose import alone takes seconds (ml_dtypes) in the app's start-up."""
    try:
        return _metadata_props(memoryview(onnx_path.read_bytes())).get("checkpoint_sha256")
    except (OSError, ValueError, IndexError) as exc:  # a damaged file is rebuilt, never trusted
        log.warning("%s: unreadable ONNX file (%s)", onnx_path, exc)
        return None


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7
        if shift > 63:
            raise ValueError("bad varint")


def _fields(data: bytes):
    """(field number, wire type, value or bytes) of one protobuf message, top level only."""
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
            yield number, wire, value
        elif wire == 2:
            size, i = _varint(data, i)
            if i + size > len(data):
                raise ValueError("truncated")
            yield number, wire, data[i:i + size]
            i += size
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _metadata_props(data: memoryview) -> dict[str, str]:
    props = {}
    for number, wire, value in _fields(data):
        if number == 14 and wire == 2:  # StringStringEntryProto: key = 1, value = 2
            entry = {n: v for n, w, v in _fields(value) if w == 2}
            props[bytes(entry.get(1, b"")).decode()] = bytes(entry.get(2, b"")).decode()
    if not props and data[:1] != b"\x08":  # an ONNX file starts with its ir_version
        raise ValueError("not an ONNX file")
    return props


def find_onnx(checkpoint: str | os.PathLike, int8: bool = False, sha256: str | None = None) -> Path | None:
    """An existing ONNX file made from exactly this checkpoint, else None (damaged or stale
    files in the cache are deleted so that they are rebuilt)."""
    checkpoint = Path(checkpoint)
    sha256 = sha256 or file_sha256(checkpoint)
    for path in candidates(checkpoint, sha256, int8):
        if not path.is_file():
            continue
        if stamped_sha(path) == sha256:
            return path
        log.warning("%s does not belong to %s; it will be rebuilt", path, checkpoint)
        if path.parent == cache_folder():
            path.unlink(missing_ok=True)
    return None


def ensure_onnx(checkpoint: str | os.PathLike, int8: bool = False, calibration=None,
                folder: str | os.PathLike | None = None) -> Path:
    """The ONNX file of this checkpoint, built if it is missing, stale or damaged.

    fp32 is exported by PyTorch: in this process when torch is already loaded (training,
    retraining), else in a child process, so that the runtime never imports torch.
    int8 needs calibration photo paths the first time; later calls reuse the file.
    folder: where a new file goes (default: the user cache).
    """
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{checkpoint}: no such model file")
    sha256 = file_sha256(checkpoint)
    found = find_onnx(checkpoint, int8, sha256)
    if found is not None:
        return found
    out = Path(folder or cache_folder()) / onnx_name(sha256, int8)
    if int8:
        fp32 = ensure_onnx(checkpoint, False, folder=folder)
        photos = list(calibration or [])
        if not photos:
            raise ExportError("the int8 model is made once from real photos: give calibration "
                              "photos (--calibration DIR), or use the onnx or torch backend")
        from model.export import CALIBRATION_PHOTOS, calibration_arrays, quantize_int8
        log.info("quantising %s to int8 on %d photos", checkpoint, min(len(photos), CALIBRATION_PHOTOS))
        return quantize_int8(fp32, out, calibration_arrays(photos, checkpoint), checkpoint)
    log.info("exporting %s to ONNX (once per model)", checkpoint)
    if "torch" in sys.modules:
        from model.export import export_onnx
        return export_onnx(checkpoint, out)
    run = subprocess.run([sys.executable, "-m", "model.export", str(checkpoint), "--out", str(out)],
                         capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S)
    if run.returncode != 0 or not out.is_file():
        lines = (run.stderr or run.stdout or "no output").strip().splitlines()
        raise ExportError(f"{checkpoint}: the ONNX file could not be made ({lines[-1] if lines else run.returncode})")
    return out


class OnnxClassifier:
    """A checkpoint's ONNX file run by ONNX Runtime; thread-safe, and answers like Classifier."""

    def __init__(self, source: str | os.PathLike, int8: bool = False, threads: int | None = None,
                 calibration: list[str | os.PathLike] | None = None, device: str = "cpu") -> None:
        import onnxruntime as ort

        from assistant.calibration import Calibration
        from assistant.checkpoint import Checkpoint, read_metadata

        self.path = Path(source)
        meta = read_metadata(self.path)
        self.checkpoint = Checkpoint({}, meta, self.path)
        self.class_ids = self.checkpoint.class_ids
        self.preprocessing = self.checkpoint.preprocessing
        self.calibration = Calibration.from_meta(meta)
        self.onnx_path = ensure_onnx(self.path, int8=int8, calibration=calibration)
        self.backend = "onnx-int8" if int8 else "onnx"
        self.precision = "int8" if int8 else "fp32"
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
        """Normalised N x 3 x S x S float32 array (a torch tensor is accepted) -> N x C array."""
        import numpy as np
        if hasattr(batch, "detach"):  # a torch tensor from a caller that has torch anyway
            batch = batch.detach().cpu().float().numpy()
        x = np.ascontiguousarray(batch, dtype=np.float32)
        return self.session.run(None, {self._input: x})[0]

    def predict(self, rgb, k: int = 3):
        return self.predict_batch([rgb], k)[0]

    def predict_batch(self, pictures: list, k: int = 3) -> list:
        if not pictures:
            return []
        return self.predict_array(self.preprocessing.batch_array(pictures), k)

    def predict_array(self, batch, k: int = 3) -> list:
        return self.calibration.predictions(self.logits(batch), self.class_ids, k)

    predict_tensor = predict_array


def nvidia_gpu_present() -> bool:
    """Whether an NVIDIA driver is loaded, found without importing torch."""
    return Path("/proc/driver/nvidia/version").exists()


def open_classifier(model: str | os.PathLike, backend: str = DEFAULT_BACKEND, device: str = "auto",
                    threads: int | None = None,
                    calibration: list[str | os.PathLike] | None = None):
    """A Classifier (torch) or OnnxClassifier for `model`, as the backend names.

    calibration: photo paths, needed only the first time onnx-int8 is used with a model.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        wants_gpu = device.startswith("cuda") or (device == "auto" and nvidia_gpu_present())
        if wants_gpu:
            try:
                return _torch_classifier(model, "cuda", threads)
            except Exception as exc:  # no CUDA after all: the CPU answers the same
                log.warning("PyTorch on CUDA unavailable (%s); using ONNX Runtime on the CPU", exc)
        try:
            return OnnxClassifier(model, threads=threads, device="cpu")
        except (ExportError, ImportError, OSError, RuntimeError) as exc:
            # an export problem must not stop the app: PyTorch gives the same answers, slower
            log.warning("ONNX Runtime unavailable for %s (%s); using PyTorch", model, exc)
            return _torch_classifier(model, "cpu", threads)
    if backend == "torch":
        return _torch_classifier(model, device, threads)
    return OnnxClassifier(model, int8=backend == "onnx-int8", threads=threads,
                          calibration=calibration, device=device)


def _torch_classifier(model, device: str, threads: int | None):
    from assistant.classifier import Classifier
    clf = Classifier(model, device=device, threads=threads)
    clf.backend = "torch"
    return clf


def add_backend_arguments(parser) -> None:
    """--model, --backend, --threads, --calibration: shared by `classify` and `serve`."""
    parser.add_argument("--model", metavar="FILE",
                        help="checkpoint (default: the model the app would load)")
    parser.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND,
                        help="auto: ONNX Runtime on a CPU, PyTorch on an NVIDIA GPU (same "
                             "answers); torch: PyTorch; onnx: ONNX Runtime fp32; onnx-int8: ONNX "
                             "Runtime int8 (made once, calibrated on real photos; less accurate)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="compute threads for the model (default: one per core)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
