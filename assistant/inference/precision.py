"""Which precision a model runs in on this CPU kind: int8 only where it was measured free.

When a model is made ready its int8 ONNX file is built (static QDQ, per-channel weights,
calibrated on the model's own training photos), both files answer the model's held-out photos,
and int8 becomes the default only where it keeps >= 99.5% top-1 agreement with fp32 and loses
<= 0.3 points of top-1. The decision and its figures are kept in `<sha256>.precision.json`
beside the ONNX files, one entry per CPU kind (assistant.machine.cpu_kind): a choice measured on
an AMX CPU says nothing of an AVX2 one. No torch, no Qt; numpy and ONNX Runtime on use.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.files import atomic_write_text
from assistant.inference.onnx_files import ONNX_FOLDER, cache_folder, file_sha256
from assistant.machine import cpu_kind

log = logging.getLogger(__name__)

#: int8 is the default only with at least this top-1 agreement with fp32 on the held-out photos
AGREEMENT_MIN = 0.995
#: ...and at most this many points of held-out top-1 lost
LOSS_MAX_POINTS = 0.3
RECORD_SUFFIX = ".precision.json"
BATCH = 32


@dataclass(frozen=True)
class PrecisionChoice:
    """The decision for one model on one CPU kind, with the figures it rests on."""

    precision: str            # "int8" or "fp32"
    cpu_kind: str
    agreement: float          # share of held-out photos where int8's top-1 equals fp32's
    fp32_top1: float
    int8_top1: float
    photos: int               # held-out photos measured
    calibration_photos: int   # training photos offered to the int8 calibration
    fp32_per_s: float = 0.0   # model only, batches of 32, this run
    int8_per_s: float = 0.0
    measured: str = ""

    @property
    def loss_points(self) -> float:
        return (self.fp32_top1 - self.int8_top1) * 100

    def line(self) -> str:
        speed = (f"; int8 {self.int8_per_s / self.fp32_per_s:.2f}x the speed of fp32"
                 if self.fp32_per_s > 0 and self.int8_per_s > 0 else "")
        return (f"{self.precision} on {self.cpu_kind} CPUs: int8 agrees with fp32 on "
                f"{self.agreement:.1%} of {self.photos} held-out photos, top-1 {self.int8_top1:.2%} "
                f"vs {self.fp32_top1:.2%} ({-self.loss_points:+.2f} points){speed} "
                f"[int8 needs >= {AGREEMENT_MIN:.1%} and <= {LOSS_MAX_POINTS} points lost]")


def decide(agreement: float, fp32_top1: float, int8_top1: float) -> str:
    """'int8' where it was measured free (agreement and accuracy both within bounds), else 'fp32'."""
    lost = (fp32_top1 - int8_top1) * 100
    return "int8" if agreement >= AGREEMENT_MIN and lost <= LOSS_MAX_POINTS + 1e-9 else "fp32"


def record_paths(checkpoint: Path, sha256: str) -> list[Path]:
    """Where the record may lie, in the order read: beside the model's ONNX files, then the cache."""
    name = sha256 + RECORD_SUFFIX
    return [checkpoint.parent / ONNX_FOLDER / name, cache_folder() / name]


def _read(path: Path, sha256: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:  # a damaged record is measured again, never trusted
        log.warning("%s: unreadable precision record (%s)", path, exc)
        return {}
    if not isinstance(data, dict) or data.get("checkpoint_sha256") != sha256:
        return {}
    return data.get("kinds") if isinstance(data.get("kinds"), dict) else {}


def read_choice(checkpoint: str | os.PathLike, kind: str | None = None,
                sha256: str | None = None) -> PrecisionChoice | None:
    """The choice recorded for this model on this CPU kind (default: this machine's), or None."""
    checkpoint = Path(checkpoint)
    kind = kind or cpu_kind()
    try:
        sha256 = sha256 or file_sha256(checkpoint)
    except OSError:
        return None
    for path in record_paths(checkpoint, sha256):
        entry = _read(path, sha256).get(kind)
        if isinstance(entry, dict):
            try:
                return PrecisionChoice(**entry)
            except TypeError as exc:
                log.warning("%s: precision record of another format (%s)", path, exc)
    return None


def write_choice(checkpoint: str | os.PathLike, choice: PrecisionChoice,
                 folder: str | os.PathLike | None = None) -> Path:
    """Keep the choice for its CPU kind (the other kinds' stay) in folder (default: where the
    model's int8 file went: beside it when writable, else the cache)."""
    checkpoint = Path(checkpoint)
    sha256 = file_sha256(checkpoint)
    path = (Path(folder) if folder else _writable_folder(checkpoint)) / (sha256 + RECORD_SUFFIX)
    kinds = _read(path, sha256)
    kinds[choice.cpu_kind] = asdict(choice)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"checkpoint_sha256": sha256, "kinds": kinds}, indent=1))
    return path


def _writable_folder(checkpoint: Path) -> Path:
    beside = checkpoint.parent / ONNX_FOLDER
    try:
        beside.mkdir(exist_ok=True)
        if os.access(beside, os.W_OK):
            return beside
    except OSError:
        pass
    return cache_folder()


def measure(checkpoint: str | os.PathLike, calibration: Sequence[str | os.PathLike],
            heldout: Sequence[tuple[str | os.PathLike, str]], kind: str | None = None,
            folder: str | os.PathLike | None = None) -> PrecisionChoice:
    """Build the int8 file (calibrated on `calibration`, the model's training photos), run both
    precisions on `heldout` ((photo, product id) pairs the model never trained on), decide,
    record the choice for this CPU kind and return it."""
    from assistant.inference.export import ensure_onnx
    from assistant.inference.onnx_backend import OnnxClassifier
    from assistant.inference.onnx_files import ExportError, find_onnx

    checkpoint = Path(checkpoint)
    if folder is None:  # beside its fp32 file (a retrain's candidates leave theirs in the cache)
        found = find_onnx(checkpoint)
        folder = found.parent if found is not None else _writable_folder(checkpoint)
    folder = Path(folder)
    ensure_onnx(checkpoint, folder=folder)
    ensure_onnx(checkpoint, int8=True, calibration=list(calibration), folder=folder)
    fp32, int8 = OnnxClassifier(checkpoint), OnnxClassifier(checkpoint, int8=True)
    batches, truth = _heldout_batches(fp32, heldout)
    if not truth:
        raise ExportError(f"{checkpoint}: none of its held-out photos could be read, so int8 "
                          "cannot be measured")
    top_fp32, fp32_rate = _top1(fp32, batches)
    top_int8, int8_rate = _top1(int8, batches)
    n = len(truth)
    agreement = sum(a == b for a, b in zip(top_fp32, top_int8, strict=True)) / n
    acc32 = sum(a == t for a, t in zip(top_fp32, truth, strict=True)) / n
    acc8 = sum(a == t for a, t in zip(top_int8, truth, strict=True)) / n
    choice = PrecisionChoice(decide(agreement, acc32, acc8), kind or cpu_kind(), round(agreement, 5),
                             round(acc32, 5), round(acc8, 5), n, len(calibration),
                             round(fp32_rate, 1), round(int8_rate, 1),
                             _dt.datetime.now().replace(microsecond=0).isoformat())
    write_choice(checkpoint, choice, folder)
    log.info("%s: %s", checkpoint.name, choice.line())
    return choice


def _heldout_batches(clf, heldout):
    """Normalised batches of the readable held-out photos of known products, and their truth."""
    import numpy as np

    from assistant.inference.vision import ImageError, load_image
    known = set(clf.class_ids)
    arrays, truth = [], []
    for photo, product in heldout:
        if product not in known:
            continue
        try:
            arrays.append(clf.preprocessing.array(load_image(photo)))
        except ImageError as exc:
            log.info("precision: skipping %s", exc)
            continue
        truth.append(product)
    return [np.concatenate(arrays[i:i + BATCH]) for i in range(0, len(arrays), BATCH)], truth


def _top1(clf, batches) -> tuple[list[str], float]:
    t0 = time.perf_counter()
    ids = [clf.class_ids[i] for b in batches for i in clf.logits(b).argmax(1)]
    return ids, len(ids) / max(time.perf_counter() - t0, 1e-9)


def chosen_precision(checkpoint: str | os.PathLike, sha256: str | None = None) -> str:
    """'int8' where this model was measured free on this CPU kind, else 'fp32' (never measured,
    measured lossy, or measured on another kind of CPU)."""
    choice = read_choice(checkpoint, sha256=sha256)
    return choice.precision if choice is not None else "fp32"
