"""Which precision a model runs in on this CPU kind: int8 or bf16 only where measured free.

When a model is made ready its int8 ONNX file is built (static QDQ, per-channel weights,
calibrated on the model's own training photos), both files answer the model's held-out photos,
and int8 becomes the default only where it keeps >= 99.5% top-1 agreement with fp32 and loses
<= 0.3 points of top-1. Where the CPU has bf16 units and OpenVINO is installed, bf16 (OpenVINO
on the fp32 file) is measured by the same rule; so are both **checked by fp32**: the fast precision answers,
and an answer whose two likeliest products are within CHECK_MARGIN of each other is asked again
of the fp32 file. Of the lossless ones the fastest is chosen.
The decision and its figures are kept in `<sha256>.precision.json` beside the ONNX files, one
entry per CPU kind (assistant.machine.cpu_kind): a choice measured on an AMX CPU says nothing
of an AVX2 one. No torch, no Qt; numpy and ONNX Runtime on use.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant import machine
from assistant.files import atomic_write_text
from assistant.inference.onnx_files import ONNX_FOLDER, cache_folder, file_sha256

log = logging.getLogger(__name__)

#: int8 is the default only with at least this top-1 agreement with fp32 on the held-out photos
AGREEMENT_MIN = 0.995
#: ...and at most this many points of held-out top-1 lost
LOSS_MAX_POINTS = 0.3
RECORD_SUFFIX = ".precision.json"
#: int8 (or bf16) checked: an answer whose top two probabilities are closer than this is asked
#: again in fp32. Where int8 and fp32 disagree, int8 is unsure: on 600 GroceryStore train photos the
#: bundled Lite2 never trained on, all 33 disagreements had margins <= 0.104 (2026-12-07); on its
#: 294 validation photos 3 of 4 did, asking again about 5% of them (docs/speed.md)
CHECK_MARGIN = 0.12


@dataclass(frozen=True)
class PrecisionChoice:
    """The decision for one model on one CPU kind, with the figures it rests on."""

    precision: str            # "fp32", "int8", "bf16", "int8-checked" or "bf16-checked"
    cpu_kind: str
    agreement: float          # share of held-out photos where int8's top-1 equals fp32's
    fp32_top1: float
    int8_top1: float
    photos: int               # held-out photos measured
    calibration_photos: int   # training photos offered to the int8 calibration
    fp32_per_s: float = 0.0   # model only, batches of 32, this run
    int8_per_s: float = 0.0
    measured: str = ""
    # bf16 (OpenVINO), measured only on a CPU with bf16 units and OpenVINO installed
    bf16_agreement: float | None = None
    bf16_top1: float | None = None
    bf16_per_s: float = 0.0
    # int8 or bf16 checked by fp32 (their unsure answers asked again in fp32), where measured:
    # {"int8": {"agreement", "top1", "per_s", "asked_again": share of the photos}}
    checked: dict = field(default_factory=dict)

    @property
    def loss_points(self) -> float:
        return (self.fp32_top1 - self.int8_top1) * 100

    def line(self) -> str:
        speed = (f"; int8 {self.int8_per_s / self.fp32_per_s:.2f}x the speed of fp32"
                 if self.fp32_per_s > 0 and self.int8_per_s > 0 else "")
        bf16 = ""
        if self.bf16_agreement is not None and self.bf16_top1 is not None:
            bf16 = (f"; bf16 (OpenVINO) agrees on {self.bf16_agreement:.1%}, top-1 {self.bf16_top1:.2%}"
                    + (f", {self.bf16_per_s / self.fp32_per_s:.2f}x" if self.fp32_per_s > 0 else ""))
        checked = "".join(
            f"; {p} checked ({c['asked_again']:.1%} asked again in fp32) agrees on {c['agreement']:.1%}, "
            f"top-1 {c['top1']:.2%}" + (f", {c['per_s'] / self.fp32_per_s:.2f}x" if self.fp32_per_s > 0 else "")
            for p, c in self.checked.items())
        return (f"{self.precision} on {self.cpu_kind} CPUs: int8 agrees with fp32 on "
                f"{self.agreement:.1%} of {self.photos} held-out photos, top-1 {self.int8_top1:.2%} "
                f"vs {self.fp32_top1:.2%} ({-self.loss_points:+.2f} points){speed}{checked}{bf16} "
                f"[each needs >= {AGREEMENT_MIN:.1%} and <= {LOSS_MAX_POINTS} points lost]")


def lossless(agreement: float, fp32_top1: float, top1: float) -> bool:
    """Whether a faster precision was measured free: agreement and accuracy both within bounds."""
    return agreement >= AGREEMENT_MIN and (fp32_top1 - top1) * 100 <= LOSS_MAX_POINTS + 1e-9


def decide(agreement: float, fp32_top1: float, int8_top1: float) -> str:
    """'int8' where it was measured free, else 'fp32'."""
    return "int8" if lossless(agreement, fp32_top1, int8_top1) else "fp32"


def fastest_lossless(fp32_top1: float, candidates: dict[str, tuple[float, float, float]]) -> str:
    """Of {precision: (agreement, top-1, photos/s)}, the fastest measured free; else 'fp32'.
    A precision checked by fp32 only where it alone is not free: it is that precision plus fp32
    on the unsure answers, never faster, whatever one timing says."""
    free = {p: rate for p, (agreement, top1, rate) in candidates.items()
            if lossless(agreement, fp32_top1, top1)}
    for p in [p for p in free if not p.endswith("-checked")]:
        free.pop(f"{p}-checked", None)
    return max(free, key=free.__getitem__) if free else "fp32"


def unsure_rows(logits):
    """Indices of the rows (N x C logits) whose two likeliest products are within CHECK_MARGIN."""
    import numpy as np
    z = np.asarray(logits, dtype=np.float64)
    if z.shape[1] < 2:  # one product: nothing to be unsure between
        return np.zeros(0, dtype=np.int64)
    p = np.exp(z - z.max(1, keepdims=True))
    top = np.sort(p / p.sum(1, keepdims=True), 1)
    return np.flatnonzero(top[:, -1] - top[:, -2] < CHECK_MARGIN)


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
    kind = kind or machine.cpu_kind()
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
    path = (Path(folder) if folder else writable_folder(checkpoint)) / (sha256 + RECORD_SUFFIX)
    kinds = _read(path, sha256)
    kinds[choice.cpu_kind] = asdict(choice)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"checkpoint_sha256": sha256, "kinds": kinds}, indent=1))
    return path


def writable_folder(checkpoint: Path) -> Path:
    beside = checkpoint.parent / ONNX_FOLDER
    try:
        beside.mkdir(exist_ok=True)
        if os.access(beside, os.W_OK):
            return beside
    except OSError:
        pass
    return cache_folder()


def chosen_precision(checkpoint: str | os.PathLike, sha256: str | None = None) -> str:
    """The precision this model was measured free in on this CPU kind ('int8', 'bf16', either
    '-checked'), else 'fp32' (never measured, measured lossy, or measured on another kind of
    CPU). bf16 also needs this CPU's bf16 units: a CPU kind is named by its int8 instructions,
    and some VNNI CPUs lack bf16."""
    choice = read_choice(checkpoint, sha256=sha256)
    if choice is None or (choice.precision.startswith("bf16") and not machine.has_bf16()):
        return "fp32"
    return choice.precision
