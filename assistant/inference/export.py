"""A checkpoint's ONNX graph: fp32 exported by PyTorch, or int8 calibrated on real photos, each
stamped with the SHA-256 of the checkpoint it came from. torch is imported only here, on use;
ensure_onnx builds a missing file: in this process when torch is loaded (training,
retraining), else in a child process, so that the runtime never imports torch.
The command line for it is `python -m model.export`.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.files import atomic_write
from assistant.inference.onnx_files import (
    ONNX_FOLDER,
    ExportError,
    cache_folder,
    file_sha256,
    find_onnx,
    onnx_name,
)

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

EXPORT_TIMEOUT_S = 600

INPUT = "input"
OUTPUT = "logits"
FEATURES = "features"
OPSET = 17
#: Calibration photos used at most (more add time, not accuracy).
CALIBRATION_PHOTOS = 64


def export_onnx(checkpoint: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Checkpoint -> fp32 ONNX graph with a dynamic batch axis; written atomically."""
    import torch

    from assistant.inference.classifier import Classifier

    checkpoint = Path(checkpoint)
    out = Path(out) if out else checkpoint.with_suffix(".onnx")
    clf = Classifier(checkpoint, device="cpu", bf16=False)
    model = clf.model.float().to(memory_format=torch.contiguous_format).eval()
    size = clf.preprocessing.size
    example = torch.zeros(1, 3, size, size)
    with atomic_write(out) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(model, (example,), str(tmp), input_names=[INPUT], output_names=[OUTPUT],
                          dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
                          opset_version=OPSET, dynamo=False)
        _stamp(tmp, checkpoint, clf.class_ids, "fp32")
    return out


def export_features_onnx(checkpoint: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Checkpoint -> its network without the head, one picture at a time (no mirror averaging):
    normalised N x 3 x S x S in, pooled features (N x D) out; written atomically, stamped."""
    import torch

    from assistant.inference.architectures import architecture
    from assistant.inference.checkpoint import load_checkpoint

    checkpoint, out = Path(checkpoint), Path(out)
    ckpt = load_checkpoint(checkpoint)
    network = ckpt.network().float().to(memory_format=torch.contiguous_format)
    return export_part(network, architecture(ckpt.architecture).features(network), ckpt.preprocessing.size, out,
                       then=lambda tmp: _stamp(tmp, checkpoint, ckpt.class_ids, "fp32 features"))


def export_part(network, forward, size: int, out: str | os.PathLike, then=None) -> Path:
    """A part of an fp32 network (forward: normalised N x 3 x size x size -> its output, using
    network's weights) -> an ONNX graph with a dynamic batch axis, written atomically: the
    features file above, or the lower blocks `retrain --adapt upper` caches the output of
    (model.retrain.features; 3.4x PyTorch's bf16 autocast on one core, docs/retraining.md).
    then(path): done to the graph before it takes its place (a stamp)."""
    import torch

    class Part(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return forward(x)

    with atomic_write(out) as tmp, warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(Part().eval(), (torch.zeros(1, 3, size, size),), str(tmp),
                          input_names=[INPUT], output_names=[FEATURES],
                          dynamic_axes={INPUT: {0: "batch"}, FEATURES: {0: "batch"}},
                          opset_version=OPSET, dynamo=False)
        if then is not None:
            then(tmp)
    return Path(out)


def ensure_lower_onnx(out: Path, network, lower, size: int) -> Path:
    """The ONNX file of a network's lower blocks at one input size (export_part), made once:
    out sits in the feature cache's folder, whose name is the lower blocks' digest."""
    return out if out.is_file() else export_part(network, lower, size, out)


def ensure_features_onnx(checkpoint: str | os.PathLike) -> Path:
    """The features file of this checkpoint (export_features_onnx), made once: beside its
    classifier file when that folder can be written (the bundled models' onnx/), else in the
    user cache. Needs torch the first time."""
    checkpoint = Path(checkpoint)
    sha256 = file_sha256(checkpoint)
    found = find_onnx(checkpoint, sha256=sha256, features=True)
    if found is not None:
        return found
    folder = ready_folder(checkpoint) or cache_folder()
    folder.mkdir(parents=True, exist_ok=True)
    log.info("exporting %s's network without its head to ONNX (once per model)", checkpoint)
    return export_features_onnx(checkpoint, folder / onnx_name(sha256, features=True))


def head_onnx(features: Path, out: Path, checkpoint: Path, class_ids: list[str],
              weight: np.ndarray, bias: np.ndarray) -> Path:
    """A classifier file made without PyTorch: the frozen network's features file with a new
    head (logits = features @ weight.T + bias) on top. What a head-only retrain runs: its
    network is its base's, weight for weight (checked by the caller)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(features))
    del model.metadata_props[:]
    graph = model.graph
    graph.initializer.extend([numpy_helper.from_array(np.asarray(weight, np.float32), "head.weight"),
                              numpy_helper.from_array(np.asarray(bias, np.float32), "head.bias")])
    graph.node.append(helper.make_node("Gemm", [FEATURES, "head.weight", "head.bias"], [OUTPUT],
                                       transB=1, name="head"))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", len(class_ids)]))
    with atomic_write(out) as tmp:
        onnx.save(model, str(tmp))
        _stamp(tmp, checkpoint, class_ids, "fp32 (its base's network, a new head)")
    return out


def _from_base(checkpoint: Path, out: Path) -> Path | None:
    """The file of a head-only retrain built on its base's features file, without PyTorch; None
    when the checkpoint is not one, or its base or the base's features file is not here."""
    from safetensors import safe_open

    from assistant.inference.architectures import architecture
    from assistant.inference.checkpoint import head_only_base, read_metadata

    meta = read_metadata(checkpoint)
    base = head_only_base(meta)
    if base is None or not base.is_file() or meta["preprocessing"].get("mirror"):
        return None
    features = find_onnx(base, features=True)
    if features is None:
        return None
    head = architecture(meta["architecture"]).head + "."
    with safe_open(str(checkpoint), framework="np") as new, safe_open(str(base), framework="np") as old:
        body = [k for k in new.keys() if not k.startswith(head)]
        if sorted(body) != sorted(k for k in old.keys() if not k.startswith(head)) or any(
                not _same(new.get_tensor(k), old.get_tensor(k)) for k in body):
            return None  # not its base's network after all: exported instead
        weight, bias = new.get_tensor(head + "weight"), new.get_tensor(head + "bias")
    return head_onnx(features, out, checkpoint, [c["id"] for c in meta["classes"]], weight, bias)


def _same(a, b) -> bool:
    import numpy as np
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))


def quantize_int8(fp32_onnx: str | os.PathLike, out: str | os.PathLike,
                  calibration: Iterable[np.ndarray], checkpoint: str | os.PathLike) -> Path:
    """Static int8 quantisation (QDQ, per-channel weights) calibrated on normalised photos.

    calibration: 1x3xSxS float32 arrays, already through the checkpoint's preprocessing.
    """
    import numpy as np
    from onnxruntime import quantization as oq
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from assistant.inference.checkpoint import read_metadata

    batches = [np.ascontiguousarray(a, dtype=np.float32) for a in calibration]
    if not batches:
        raise ExportError("int8 quantisation needs calibration photos, and none could be read")

    class Reader(oq.CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(batches)

        def get_next(self) -> dict | None:
            x = next(self._it, None)
            return None if x is None else {INPUT: x}

    out = Path(out)
    ids = [c["id"] for c in read_metadata(checkpoint)["classes"]]
    with tempfile.TemporaryDirectory() as work, atomic_write(out) as tmp:
        pre = Path(work) / "pre.onnx"
        quant_pre_process(str(fp32_onnx), str(pre), skip_symbolic_shape=True)
        oq.quantize_static(str(pre), str(tmp), Reader(), quant_format=oq.QuantFormat.QDQ,
                        per_channel=True, activation_type=oq.QuantType.QUInt8,
                        weight_type=oq.QuantType.QInt8)
        _stamp(tmp, Path(checkpoint), ids, f"int8 ({len(batches)} calibration photos)")
    return out


def calibration_arrays(photos: Iterable[str | os.PathLike], checkpoint: str | os.PathLike,
                       limit: int = CALIBRATION_PHOTOS) -> list[np.ndarray]:
    """Up to `limit` readable photos, spread evenly over the list, preprocessed for the model."""
    from assistant.inference.checkpoint import read_metadata
    from assistant.inference.vision import ImageError, Preprocessing, load_image

    prep = Preprocessing.from_dict(read_metadata(checkpoint)["preprocessing"])
    photos = list(photos)
    step = max(1, len(photos) // limit)
    out = []
    for path in photos[::step]:
        try:
            out.append(prep.array(load_image(path)))
        except ImageError as exc:
            log.info("calibration: skipping %s", exc)
        if len(out) >= limit:
            break
    return out


def _stamp(onnx_path: Path, checkpoint: Path, class_ids: list[str], kind: str) -> None:
    """Record which checkpoint and classes the graph came from inside the .onnx file."""
    import onnx

    model = onnx.load(str(onnx_path))
    for key, value in (("checkpoint_sha256", file_sha256(checkpoint)),
                       ("class_ids", ",".join(class_ids)), ("precision", kind)):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(onnx_path))


def ensure_onnx(checkpoint: str | os.PathLike, int8: bool = False, calibration=None,
                folder: str | os.PathLike | None = None) -> Path:
    """The ONNX file of this checkpoint, built if it is missing, stale or damaged.

    fp32 is exported by PyTorch: in this process when torch is already loaded (training,
    retraining), else in a child process, so that the runtime never imports torch.
    int8 needs calibration photo paths the first time; later calls reuse the file.
    folder: where the file must lie (default: wherever a valid one is, else the user cache).
    A valid file found elsewhere is copied there (training leaves one in the user cache;
    setup.sh wants the bundled models' beside them, for every home and account).
    """
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{checkpoint}: no such model file")
    sha256 = file_sha256(checkpoint)
    found = find_onnx(checkpoint, int8, sha256)
    out = Path(folder or cache_folder()) / onnx_name(sha256, int8)
    if found is not None and (folder is None or found.resolve() == out.resolve()):
        return found
    if found is not None:
        with atomic_write(out, suffix=".onnx") as tmp:
            shutil.copyfile(found, tmp)
        return out
    if int8:
        fp32 = ensure_onnx(checkpoint, False, folder=folder)
        photos = list(calibration or [])
        if not photos:
            raise ExportError("the int8 model is made once from real photos: give calibration "
                              "photos (--calibration DIR), or use the onnx or torch backend")
        log.info("quantising %s to int8 on %d photos", checkpoint, min(len(photos), CALIBRATION_PHOTOS))
        return quantize_int8(fp32, out, calibration_arrays(photos, checkpoint), checkpoint)
    from assistant.inference.checkpoint import check_finite_weights
    check_finite_weights(checkpoint)  # NaN weights: refused now, not after an export
    derived = _from_base(checkpoint, out)
    if derived is not None:
        return derived
    log.info("exporting %s to ONNX (once per model)", checkpoint)
    if "torch" in sys.modules:
        return export_onnx(checkpoint, out)
    run = subprocess.run([sys.executable, "-m", "assistant.inference.export", str(checkpoint), str(out)],
                         capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S)
    if run.returncode != 0 or not out.is_file():
        lines = (run.stderr or run.stdout or "no output").strip().splitlines()
        raise ExportError(f"{checkpoint}: the ONNX file could not be made ({lines[-1] if lines else run.returncode})")
    return out


def make_ready(checkpoint: str | os.PathLike) -> Path:
    """The runtime's ONNX file for this checkpoint: `onnx/<sha256>.onnx` beside it, or in the
    user cache where that folder cannot be written. Nothing is done when a valid one exists."""
    return ensure_onnx(checkpoint, folder=ready_folder(Path(checkpoint)))


def ready_folder(checkpoint: Path) -> Path | None:
    """`onnx/` beside the checkpoint when it can be written, else None (the user cache)."""
    folder = checkpoint.parent / ONNX_FOLDER
    try:
        folder.mkdir(exist_ok=True)
        return folder if os.access(folder, os.W_OK) else None
    except OSError:
        return None


if __name__ == "__main__":  # the runtime's child process: python -m assistant.inference.export CKPT OUT
    export_onnx(sys.argv[1], sys.argv[2])
