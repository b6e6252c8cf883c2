"""Export a checkpoint to ONNX (fp32, or int8 calibrated on real photos) for ONNX Runtime.

`python -m model.export MODEL [--out FILE] [--int8 --calibration DIR]` writes the .onnx beside
the checkpoint. `python -m model.export --ready MODEL...` makes the files the runtime looks
for (assistant/onnx_backend.py): named by the checkpoint's SHA-256, in `onnx/` beside it (the
set-up command does this for the bundled models) or, where that folder is read-only, in the
user cache, so a changed model is never served from a stale export.
"""
from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from assistant.onnx_backend import ONNX_FOLDER, ExportError, ensure_onnx, file_sha256

log = logging.getLogger(__name__)

INPUT = "input"
OUTPUT = "logits"
OPSET = 17
#: Calibration photos used at most (more add time, not accuracy).
CALIBRATION_PHOTOS = 64
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def export_onnx(checkpoint: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Checkpoint -> fp32 ONNX graph with a dynamic batch axis; written atomically."""
    import torch

    from assistant.classifier import Classifier

    checkpoint = Path(checkpoint)
    out = Path(out) if out else checkpoint.with_suffix(".onnx")
    clf = Classifier(checkpoint, device="cpu", bf16=False)
    model = clf.model.float().to(memory_format=torch.contiguous_format).eval()
    size = clf.preprocessing.size
    example = torch.zeros(1, 3, size, size)
    with _atomic(out) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(model, (example,), str(tmp), input_names=[INPUT], output_names=[OUTPUT],
                          dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
                          opset_version=OPSET, dynamo=False)
        _stamp(tmp, checkpoint, clf.class_ids, "fp32")
    return out


def quantize_int8(fp32_onnx: str | os.PathLike, out: str | os.PathLike,
                  calibration: Iterable[np.ndarray], checkpoint: str | os.PathLike) -> Path:
    """Static int8 quantisation (QDQ, per-channel weights) calibrated on normalised photos.

    calibration: 1x3xSxS float32 arrays, already through the checkpoint's preprocessing.
    """
    from onnxruntime import quantization as oq
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from assistant.checkpoint import read_metadata

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
    with tempfile.TemporaryDirectory() as work, _atomic(out) as tmp:
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
    from assistant.checkpoint import read_metadata
    from assistant.vision import ImageError, Preprocessing, load_image

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


def photos_in(folder: str | os.PathLike) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of calibration photos")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())


def _stamp(onnx_path: Path, checkpoint: Path, class_ids: list[str], kind: str) -> None:
    """Record which checkpoint and classes the graph came from inside the .onnx file."""
    import onnx

    model = onnx.load(str(onnx_path))
    for key, value in (("checkpoint_sha256", file_sha256(checkpoint)),
                       ("class_ids", ",".join(class_ids)), ("precision", kind)):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(onnx_path))


class _atomic:
    """A temp path next to `path` that replaces it on success and vanishes on failure."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def make_ready(checkpoint: str | os.PathLike) -> Path:
    """The runtime's ONNX file for this checkpoint: `onnx/<sha256>.onnx` beside it, or in the
    user cache where that folder cannot be written. Nothing is done when a valid one exists."""
    checkpoint = Path(checkpoint)
    folder = checkpoint.parent / ONNX_FOLDER
    try:
        folder.mkdir(exist_ok=True)
        writable = os.access(folder, os.W_OK)
    except OSError:
        writable = False
    return ensure_onnx(checkpoint, folder=folder if writable else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.export", description=__doc__.split("\n")[0])
    parser.add_argument("model", nargs="+", help="checkpoint (.safetensors); several with --ready")
    parser.add_argument("--out", help="ONNX file to write (default: beside the checkpoint)")
    parser.add_argument("--int8", action="store_true", help="also write a static int8 version")
    parser.add_argument("--calibration", metavar="DIR", help="real photos to calibrate int8 on")
    parser.add_argument("--ready", action="store_true",
                        help="make the runtime's ONNX file of each model (onnx/<sha256>.onnx "
                             "beside it), unless a valid one exists")
    args = parser.parse_args(argv)
    from assistant.checkpoint import CheckpointError, read_metadata
    if len(args.model) > 1 and not args.ready:
        parser.error("several models only with --ready")
    try:
        if args.ready:
            made = []
            for model in args.model:
                read_metadata(model)  # a damaged or foreign file is refused in one line
                made.append(make_ready(model))
                print(made[-1])
            for folder in {p.parent for p in made if p.parent.name == ONNX_FOLDER}:
                # exports of models no longer beside it (earlier versions of these files)
                alive = {file_sha256(c) for c in folder.parent.glob("*.safetensors")}
                for old in folder.glob("*.onnx"):
                    if old.name.split(".")[0] not in alive:
                        old.unlink(missing_ok=True)
            return 0
        fp32 = export_onnx(args.model[0], args.out)
        print(fp32)
        if args.int8:
            if not args.calibration:
                parser.error("--int8 needs --calibration DIR (real photos)")
            q = fp32.with_name(fp32.stem + ".int8.onnx")
            quantize_int8(fp32, q, calibration_arrays(photos_in(args.calibration), args.model[0]),
                          args.model[0])
            print(q)
    except (CheckpointError, ExportError, FileNotFoundError) as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
