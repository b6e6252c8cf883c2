"""Making a model ready: its ONNX files and its precision measured on this CPU kind.

`python -m model.precision MODEL... [--data DIR] [--again]` (scripts/setup.sh runs it for the
bundled models; train, retrain and `models activate` do it for theirs). The photos come from
the model's own training record: its data folder and split file (or its seeded split), the
training photos to calibrate int8 on and the test (else validation) photos to judge it. Where
they are not on this machine nothing is measured and the model runs in fp32.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from assistant import machine
from assistant.inference.checkpoint import CheckpointError, read_metadata
from assistant.inference.precision import (
    PrecisionChoice,
    fastest_lossless,
    read_choice,
    writable_folder,
    write_choice,
)

log = logging.getLogger(__name__)

BATCH = 32

ROOT = Path(__file__).resolve().parents[1]


def _found(written: str | None) -> Path | None:
    """A recorded path as written (relative ones to the working folder of the run, usually the
    checkout), else under this checkout."""
    if not written:
        return None
    for cand in (Path(written), ROOT / written):
        if cand.exists():
            return cand
    return None


def recorded_photos(meta: dict, data: str | None = None
                    ) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(training photos, [(held-out photo, product id)]) of a model, from its training record;
    ([], []) when its photos are not on this machine. data: where they are now, if moved."""
    from model.config import parse_split
    from model.data import scan_folder, stratified_split
    from model.split_file import SplitFile

    cfg = (meta.get("training") or {}).get("config") or {}
    root = _found(data or cfg.get("data"))
    if root is None or not root.is_dir():
        return [], []
    classes, samples = scan_folder(root)
    split_file = _found(cfg.get("split_file"))
    if split_file is not None:
        where = SplitFile.read(split_file).where(root)
        splits = [where.get(str(f.resolve())) for f, _ in samples]
    else:  # the seeded split of training (exact unless some photo could not be read there)
        labels = [classes.index(c) for _, c in samples]
        parts = stratified_split(labels, parse_split(cfg.get("split", "80/10/10")), cfg.get("seed", 0))
        splits = [None] * len(samples)
        for name, idx in zip(("train", "val", "test"), parts, strict=True):
            for i in idx:
                splits[i] = name
    train = [f for (f, _), s in zip(samples, splits, strict=True) if s == "train"]
    for judged in ("test", "val"):
        held = [(f, c) for (f, c), s in zip(samples, splits, strict=True) if s == judged]
        if held:
            return train, held
    return train, []


def make_ready(checkpoint: str | Path, data: str | None = None, again: bool = False,
               train: list | None = None, heldout: list | None = None) -> PrecisionChoice | None:
    """The model's precision on this CPU kind: read when recorded (unless again), else measured
    on train/heldout (default: its recorded photos). None when it cannot be measured here: it
    then runs in fp32. Never raises for a measurement that fails: fp32 is always right."""
    checkpoint = Path(checkpoint)
    if not again and (known := read_choice(checkpoint)) is not None:
        return known
    if train is None or heldout is None:
        train, heldout = recorded_photos(read_metadata(checkpoint), data)
    if not train or not heldout:
        log.info("%s: its training and held-out photos are not here; it runs in fp32", checkpoint)
        return None
    try:
        return measure(checkpoint, train, heldout)
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, fp32 is the right answer
        log.warning("%s: int8 not measured (%s: %s); it runs in fp32", checkpoint,
                    type(exc).__name__, exc)
        return None


def measure(checkpoint: str | os.PathLike, calibration: Sequence[str | os.PathLike],
            heldout: Sequence[tuple[str | os.PathLike, str]], kind: str | None = None,
            folder: str | os.PathLike | None = None) -> PrecisionChoice:
    """Build the int8 file (calibrated on `calibration`, the model's training photos), run fp32,
    int8, int8 checked by fp32 and, where this CPU has bf16 units and OpenVINO is here, bf16 on
    `heldout` ((photo, product id) pairs the model never trained on), choose the fastest
    lossless (else fp32), record the choice for this CPU kind and return it."""
    from assistant.inference.export import ensure_onnx
    from assistant.inference.onnx_backend import CheckedClassifier, OnnxClassifier
    from assistant.inference.onnx_files import ExportError, find_onnx

    checkpoint = Path(checkpoint)
    if folder is None:  # beside its fp32 file (a retrain's candidates leave theirs in the cache)
        found = find_onnx(checkpoint)
        folder = found.parent if found is not None else writable_folder(checkpoint)
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
    _, acc32 = _scores(top_fp32, top_fp32, truth)
    agreement, acc8 = _scores(top_int8, top_fp32, truth)
    measured = {"int8": (agreement, acc8, int8_rate)}
    # checked by fp32: the files already open, the fast one answering first
    checks = {"int8": _checked(CheckedClassifier(int8, fp32), batches, top_fp32, truth)}
    bf16 = {}  # the record's bf16 fields, where bf16 was measured
    if (found := _bf16(checkpoint, batches)) is not None:
        ov, top16, rate16 = found
        agree16, acc16 = _scores(top16, top_fp32, truth)
        measured["bf16"] = (agree16, acc16, rate16)
        bf16 = {"bf16_agreement": round(agree16, 5), "bf16_top1": round(acc16, 5),
                "bf16_per_s": round(rate16, 1)}
        checks["bf16"] = _checked(CheckedClassifier(ov, fp32), batches, top_fp32, truth)
    for p, c in checks.items():
        measured[f"{p}-checked"] = (c["agreement"], c["top1"], c["per_s"])
    choice = PrecisionChoice(fastest_lossless(acc32, measured), kind or machine.cpu_kind(),
                             round(agreement, 5), round(acc32, 5), round(acc8, 5), n, len(calibration),
                             round(fp32_rate, 1), round(int8_rate, 1),
                             _dt.datetime.now().replace(microsecond=0).isoformat(), **bf16,
                             checked=checks)
    write_choice(checkpoint, choice, folder)
    log.info("%s: %s", checkpoint.name, choice.line())
    return choice


def _bf16(checkpoint: Path, batches) -> tuple[object, list[str], float] | None:
    """(the OpenVINO bf16 classifier, its top-1 ids, photos/s) on the batches; None where this
    CPU has no bf16 units or OpenVINO is not installed (nothing to measure), or it fails (logged)."""
    from assistant.inference.openvino_backend import OpenVinoClassifier, openvino_available
    if not machine.has_bf16() or not openvino_available():
        return None
    try:
        ov = OpenVinoClassifier(checkpoint)
        return (ov, *_top1(ov, batches))
    except Exception as exc:  # noqa: BLE001 - bf16 is an option; fp32 and int8 stand without it
        log.warning("%s: bf16 not measured (%s: %s)", checkpoint, type(exc).__name__, exc)
        return None


def _checked(clf, batches, top_fp32: list[str], truth: list[str]) -> dict:
    """A precision checked by fp32 on the batches: its agreement with fp32, top-1, photos/s, and
    the share of the photos it asked again in fp32."""
    top, rate = _top1(clf, batches)
    agreement, top1 = _scores(top, top_fp32, truth)
    return {"agreement": round(agreement, 5), "top1": round(top1, 5), "per_s": round(rate, 1),
            "asked_again": round(clf.asked_again / max(clf.asked, 1), 4)}


def _scores(top: list[str], top_fp32: list[str], truth: list[str]) -> tuple[float, float]:
    """(share of the answers equal to fp32's, share right)."""
    n = len(truth)
    return (sum(a == b for a, b in zip(top, top_fp32, strict=True)) / n,
            sum(a == t for a, t in zip(top, truth, strict=True)) / n)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.precision", description=__doc__.split("\n")[0])
    parser.add_argument("model", nargs="+", help="checkpoint(s) (.safetensors)")
    parser.add_argument("--data", metavar="DIR", help="where the models' photos are now (default: "
                                                      "the folder their training recorded)")
    parser.add_argument("--again", action="store_true", help="measure even where a choice is recorded")
    args = parser.parse_args(argv)
    for model in args.model:
        try:
            read_metadata(model)  # a damaged or foreign file is refused in one line
        except CheckpointError as exc:
            print(f"precision: {exc}", file=sys.stderr)
            return 1
        choice = make_ready(model, args.data, args.again)
        print(f"{Path(model).name}: " + (choice.line() if choice else
                                         "fp32 (its photos are not on this machine: int8 not measured)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
