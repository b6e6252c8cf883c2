"""The classifier on ONNX Runtime (fp32, static int8, or a faster precision checked by fp32), and
the one place that picks a backend.

The app, `serve` and `classify` run models here and never import torch: the checkpoint stays
the source of truth (safetensors + metadata) and its ONNX file is derived from it, named by
the checkpoint's SHA-256, checked against the SHA stamped inside it, and rebuilt when it does
not match or cannot be read. Train, retrain, activation and the set-up command build it ahead
(ensure_onnx), so a model is ready before it is used; a missing one is built in a child
process, which imports torch instead of us. No Qt.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from assistant.inference.export import ensure_onnx
from assistant.inference.exported import ExportedModel
from assistant.inference.onnx_files import ExportError

# numpy and onnxruntime are imported inside functions: `classify --help` and `serve --help`
# import this module for its flags and must stay instant.

log = logging.getLogger(__name__)

#: auto: ONNX Runtime on a CPU (no torch in the process) in the precision measured for this
#: model on this CPU kind (int8 only where measured free: assistant.inference.precision; fp32,
#: the same answers as PyTorch, otherwise), PyTorch on an NVIDIA GPU; torch: eager PyTorch;
#: onnx: ONNX Runtime fp32; onnx-int8: ONNX Runtime, static int8, whatever was measured;
#: openvino-bf16: OpenVINO with bf16 products (a CPU with bf16 units only); "-checked": that
#: precision with its unsure answers asked again in fp32 (CheckedClassifier).
BACKENDS = ("auto", "torch", "onnx", "onnx-int8", "onnx-int8-checked", "openvino-bf16",
            "openvino-bf16-checked")
DEFAULT_BACKEND = "auto"


class OnnxClassifier(ExportedModel):
    """A checkpoint's ONNX file run by ONNX Runtime; thread-safe, and answers like Classifier."""

    def __init__(self, source: str | os.PathLike, int8: bool = False, threads: int | None = None,
                 calibration: list[str | os.PathLike] | None = None, device: str = "cpu") -> None:
        import onnxruntime as ort

        from assistant.inference.prediction import check_finite_answers, probe_batch

        self._read(source)
        self.onnx_path = ensure_onnx(self.path, int8=int8, calibration=calibration)
        self.backend = "onnx-int8" if int8 else "onnx"
        self.precision = "int8" if int8 else "fp32"
        providers = ["CPUExecutionProvider"]
        if device in ("auto", "cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session, fresh = _open_session(self.onnx_path, threads, providers)
        except Exception as exc:  # a damaged file whose stamp still reads: rebuild it once
            log.warning("%s cannot be run (%s); it is made again", self.onnx_path, exc)
            self.onnx_path.unlink(missing_ok=True)
            self.onnx_path = ensure_onnx(self.path, int8=int8, calibration=calibration)
            try:
                self.session, fresh = _open_session(self.onnx_path, threads, providers)
            except Exception as again:
                raise ExportError(f"{self.path}: its ONNX file cannot be run ({again})") from again
        self.device = "cuda" if self.session.get_providers()[0].startswith("CUDA") else "cpu"
        self._input = self.session.get_inputs()[0].name
        self._shrink = ort.RunOptions()
        self._shrink.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        if fresh is not False:  # not from a copy whose probe passed: probe, then keep the copy
            try:
                check_finite_answers(self.logits(probe_batch(self.preprocessing.size)), self.path)
                if fresh is not None and fresh.is_file():
                    os.replace(fresh, optimized_path(self.onnx_path))
            finally:
                if fresh is not None:
                    fresh.unlink(missing_ok=True)

    def logits(self, batch):
        """Normalised N x 3 x S x S float32 array (a torch tensor is accepted) -> N x C array."""
        x = self._array(batch)
        # A batch's activations would stay in ONNX Runtime's arena for good (a burst of
        # batches of 16 left the service at 4.6x its idle memory): past one picture, the arena
        # gives them back at the end of the run. One picture (the app) keeps its arena.
        return self.session.run(None, {self._input: x}, self._shrink if len(x) > 1 else None)[0]


class CheckedClassifier(ExportedModel):
    """A faster precision checked by fp32: `fast` (int8 on ONNX Runtime, bf16 on OpenVINO)
    answers, and an answer whose two likeliest products are within precision.CHECK_MARGIN of
    each other is asked again of `fp32`, whose answer stands. Where the two disagree the fast
    one is unsure (docs/speed.md), so this keeps most of its speed and fp32's answers. Both stay
    open (ONNX Runtime's threads do not spin between calls, so the idle one holds no core)."""

    def __init__(self, fast, fp32) -> None:
        self._read(fast.path)
        self.fast, self.fp32 = fast, fp32
        self.onnx_path, self.device = fast.onnx_path, "cpu"
        self.backend, self.precision = f"{fast.backend}-checked", f"{fast.precision}-checked"
        self.asked, self.asked_again = 0, 0  # answers given, and those fp32 gave
        self._count = threading.Lock()  # the service asks from several threads

    def logits(self, batch):
        import numpy as np

        from assistant.inference.precision import unsure_rows
        batch = self._array(batch)
        out = np.array(self.fast.logits(batch))
        unsure = unsure_rows(out)
        if len(unsure):
            out[unsure] = self.fp32.logits(batch[unsure])
        with self._count:
            self.asked, self.asked_again = self.asked + len(out), self.asked_again + len(unsure)
        return out


def checked(model, fast: str, threads: int | None = None,
            calibration: list[str | os.PathLike] | None = None) -> CheckedClassifier:
    """The model in the `fast` precision ("int8": ONNX Runtime; "bf16": OpenVINO), checked by fp32."""
    if fast == "bf16":
        from assistant.inference.openvino_backend import OpenVinoClassifier
        first = OpenVinoClassifier(model, threads=threads)
    else:
        first = OnnxClassifier(model, int8=True, threads=threads, calibration=calibration,
                               device="cpu")
    return CheckedClassifier(first, OnnxClassifier(model, threads=threads, device="cpu"))


def optimized_path(onnx_path: Path) -> Path:
    """The graph as ONNX Runtime optimised it for this CPU kind and runtime version, in the user
    cache: loading it skips the optimisation (0.27-0.47 s of each launch measured under load,
    0.09-0.12 s from the copy). Its layouts (NCHWc) are CPU-specific, hence the kind in the name."""
    import onnxruntime as ort

    from assistant.inference.onnx_files import cache_folder
    from assistant.machine import cpu_kind
    return cache_folder() / f"{onnx_path.stem}.{cpu_kind()}.ort{ort.__version__}.optimized.onnx"


def thread_count(threads: int | None) -> int:
    """ONNX Runtime's threads: as asked, else OMP_NUM_THREADS where the process was given it
    (torch and numpy honour it, ONNX Runtime does not read it), else 0: one per physical core.
    Two spinning threads where one core is free cost twice the CPU (0.50 against 0.26 CPU-s
    for 20 photos on the loaded 2-core Xeon, 2026-12-07)."""
    if threads:
        return threads
    try:
        return max(0, int(os.environ.get("OMP_NUM_THREADS", "0")))
    except ValueError:  # OpenMP's nested form ("4,2") or a typo: ONNX Runtime's own choice
        return 0


def session_options(threads: int | None, level=None):
    """ONNX Runtime's options for every session of ours: `threads` (thread_count), the graph
    optimisation level when given, and threads that sleep when their work is done instead of
    spinning for more: on a busy 2-core CPU a frame took half the time (fp32 29 against 56 ms,
    int8 14 against 26), and on a quiet one 1 ms more, for 40-60% less CPU (docs/speed.md)."""
    import onnxruntime as ort
    o = ort.SessionOptions()
    if level is not None:
        o.graph_optimization_level = level
    o.intra_op_num_threads = thread_count(threads)
    o.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return o


def _open_session(onnx_path: Path, threads: int | None, providers: list[str]):
    """(session, False) from the optimised copy of an earlier start, made only once the model's
    probe passed there; else (session of onnx_path, where its optimised copy was written, to be
    kept once the probe passes; None on a GPU, whose graphs are not cached)."""
    import onnxruntime as ort
    if providers != ["CPUExecutionProvider"]:
        return ort.InferenceSession(str(onnx_path), session_options(threads, ort.GraphOptimizationLevel.ORT_ENABLE_ALL),
                                    providers=providers), None
    cached = optimized_path(onnx_path)
    try:
        if cached.is_file() and cached.stat().st_mtime >= onnx_path.stat().st_mtime:
            return ort.InferenceSession(str(cached), session_options(threads, ort.GraphOptimizationLevel.ORT_DISABLE_ALL),
                                        providers=providers), False
    except Exception as exc:  # damaged or from another build: made again below
        log.warning("%s cannot be run (%s); it is made again", cached, exc)
        cached.unlink(missing_ok=True)
    cached.parent.mkdir(parents=True, exist_ok=True)
    fresh = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
    opts = session_options(threads, ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    opts.optimized_model_filepath = str(fresh)
    opts.log_severity_level = 3  # its warning that the copy is CPU-specific: the name says so
    return ort.InferenceSession(str(onnx_path), opts, providers=providers), fresh


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
            return _measured_onnx(model, threads)
        except (ExportError, ImportError, OSError, RuntimeError) as exc:
            # an export problem must not stop the app: PyTorch gives the same answers, slower
            log.warning("ONNX Runtime unavailable for %s (%s); using PyTorch", model, exc)
            return _torch_classifier(model, "cpu", threads)
    if backend == "torch":
        return _torch_classifier(model, device, threads)
    if backend == "openvino-bf16":
        from assistant.inference.openvino_backend import OpenVinoClassifier
        return OpenVinoClassifier(model, threads=threads)
    if backend.endswith("-checked"):
        return checked(model, "bf16" if "bf16" in backend else "int8", threads, calibration)
    return OnnxClassifier(model, int8=backend == "onnx-int8", threads=threads,
                          calibration=calibration, device=device)


def _measured_onnx(model, threads: int | None):
    """The precision chosen for this model on this CPU kind (int8: ONNX Runtime; bf16: OpenVINO;
    either checked by fp32); fp32 when the chosen one cannot be had (an int8 file is never made
    without calibration photos; OpenVINO may have been uninstalled since)."""
    from assistant.inference.precision import chosen_precision
    chosen = chosen_precision(model)
    try:
        if chosen == "int8":
            return OnnxClassifier(model, int8=True, threads=threads, device="cpu")
        if chosen.endswith("-checked"):
            return checked(model, chosen.removesuffix("-checked"), threads)
        if chosen == "bf16":
            from assistant.inference.openvino_backend import OpenVinoClassifier
            return OpenVinoClassifier(model, threads=threads)
    except ExportError as exc:
        log.warning("%s: its measured %s cannot be had (%s); using fp32", model, chosen, exc)
    return OnnxClassifier(model, threads=threads, device="cpu")


def _torch_classifier(model, device: str, threads: int | None):
    from assistant.inference.classifier import Classifier
    clf = Classifier(model, device=device, threads=threads)
    clf.backend = "torch"
    return clf


def add_backend_arguments(parser) -> None:
    """--model, --backend, --threads, --calibration: shared by `classify` and `serve`."""
    parser.add_argument("--model", metavar="FILE",
                        help="checkpoint (default: the model the app would load)")
    parser.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND,
                        help="auto: ONNX Runtime on a CPU (int8 where measured as accurate as fp32 "
                             "for this model on this CPU kind: `models list` shows it), PyTorch on "
                             "an NVIDIA GPU; torch: PyTorch; onnx: ONNX Runtime fp32; onnx-int8: "
                             "ONNX Runtime int8 (made once, calibrated on real photos); "
                             "openvino-bf16: OpenVINO, bf16 products (CPUs with bf16 units); "
                             "...-checked: that precision, its unsure answers asked again in fp32")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="compute threads for the model (default: one per core)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
