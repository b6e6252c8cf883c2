"""Photos per second of `classify` for each backend, what limits it, and backend agreement.

    python main.py bench --only backends -- [--model FILE] [--photos DIR] [--agreement-model FILE]

Prints, for eager fp32, fp32 + channels_last, bf16 + channels_last, ONNX Runtime fp32 and ONNX
Runtime static int8 (calibrated on real photos disjoint from those measured):
  - model only: photos/s on ready-made batches (the ceiling set by compute),
  - end to end: the real classify pipeline (threads decoding, batches through the model),
and the decoding rate alone. With --agreement-model (a trained model; a random stand-in's
agreement means nothing), also top-1 agreement of each backend with eager fp32 and, when the
model's products are the photo folders' names, accuracy. Each figure runs a few seconds.
Without --model it uses the model the app would load, or builds a random ResNet-18 stand-in
(25 products, 224 px: speed does not depend on the weights).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from assistant.files import is_photo

ROOT = Path(__file__).resolve().parents[2]

FREIBURG = ROOT.parent / "shared" / "data" / "freiburg" / "images"
VARIANTS = ("torch-fp32", "torch-fp32-cl", "torch-bf16-cl", "onnx", "onnx-int8")


def standin_checkpoint(path: Path, classes: int = 25, size: int = 224) -> Path:
    """A randomly initialised ResNet-18 shaped like the bundled model."""
    import torch

    from assistant.inference.architectures import build_model
    from assistant.inference.checkpoint import make_classes, save_checkpoint
    from assistant.inference.vision import Preprocessing
    if path.is_file():
        return path
    torch.manual_seed(0)
    meta = {"architecture": "resnet18", "version": "random-standin",
            "classes": make_classes([f"product_{i:02d}" for i in range(classes)]),
            "preprocessing": Preprocessing(size=size).to_dict()}
    return save_checkpoint(path, build_model("resnet18", classes).state_dict(), meta)


def default_model() -> tuple[Path, str]:
    from assistant.inference.checkpoint import CheckpointError
    from assistant.store.models import active_model_path
    try:
        return active_model_path(), "the model the app would load"
    except CheckpointError:
        path = Path(tempfile.gettempdir()) / "grocery-bench-standin-resnet18-25.safetensors"
        return standin_checkpoint(path), "random ResNet-18 stand-in (25 products, 224 px)"


class Eager:
    """Plain eager PyTorch, fp32, default (NCHW) memory layout: the baseline."""

    def __init__(self, model: Path) -> None:
        from assistant.inference.classifier import Classifier
        inner = Classifier(model, device="cpu", bf16=False)
        import torch
        self.model = inner.model.to(memory_format=torch.contiguous_format)
        self.class_ids, self.preprocessing, self.checkpoint = inner.class_ids, inner.preprocessing, inner.checkpoint
        self.name, self.path, self.backend = inner.name, inner.path, "torch-fp32"

    def logits(self, batch):
        import torch
        with torch.inference_mode():
            return self.model(batch.contiguous()).float()

    def predict_tensor(self, batch, k: int = 3):
        from assistant.inference.calibration import Calibration
        return Calibration.from_meta(self.checkpoint.meta).predictions(self.logits(batch).numpy(),
                                                                       self.class_ids, k)

    def predict_array(self, batch, k: int = 3):
        import torch
        return self.predict_tensor(torch.from_numpy(batch), k)


def open_variant(variant: str, model: Path, calibration: list[Path]):
    from assistant.inference.classifier import Classifier
    from assistant.inference.onnx_backend import open_classifier
    if variant == "torch-fp32":
        return Eager(model)
    if variant.startswith("torch-"):
        return Classifier(model, device="cpu", bf16=variant == "torch-bf16-cl")
    return open_classifier(model, variant, device="cpu", calibration=calibration)


def split_photos(folder: Path, n: int, only: set[str] | None = None) -> tuple[list[Path], list[Path]]:
    """n photos to measure and 64 others to calibrate int8 on, spread over all products
    (or over the product folders named in `only`)."""
    photos = sorted(p for p in folder.rglob("*") if is_photo(p)
                    and (not only or p.relative_to(folder).parts[0] in only))
    if len(photos) < 16:
        raise SystemExit(f"{folder}: too few photos to measure")
    measured = photos[::2][::max(1, len(photos) // 2 // n)][:n]
    calibration = photos[1::2][::max(1, len(photos) // 2 // 64)][:64]
    return measured, calibration


def timed(fn, seconds: float, per_call: int) -> float:
    """Items per second of fn over about `seconds` (after one warm-up call)."""
    fn()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        done += per_call
    return done / (time.perf_counter() - start)


def decode_rate(photos: list[Path], size: int, workers: int, seconds: float) -> float:
    from concurrent.futures import ThreadPoolExecutor

    from assistant.batch.photos import decode as _decode
    with ThreadPoolExecutor(workers) as pool:
        return timed(lambda: list(pool.map(lambda p: _decode(p, size), photos)), seconds, len(photos))


def agreement(model: Path, photos: list[Path], root: Path, calibration: list[Path],
              variants: list[str]) -> dict:
    from assistant.batch.local import classify_files
    answers, report = {}, {}
    for variant in variants:
        clf = open_variant(variant, model, calibration)
        answers[variant] = {r.path: r.label for r in classify_files(clf, photos, root).results}
    base = answers[variants[0]]
    truth = {rel: rel.split("/")[0] for rel in base}
    known = set(open_variant(variants[0], model, calibration).class_ids)
    for variant in variants:
        got = answers[variant]
        row = {"agreement": sum(got[p] == base[p] for p in base) / len(base)}
        if set(truth.values()) <= known:
            row["accuracy"] = sum(got[p] == truth[p] for p in base) / len(base)
        report[variant] = row
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="checkpoint to time (default: see above)")
    parser.add_argument("--photos", type=Path, default=FREIBURG, help="real photos, one folder per product")
    parser.add_argument("--n", type=int, default=256, help="photos measured end to end")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each model-only figure")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="decoding threads")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of "
                                                                       + ", ".join(VARIANTS))
    parser.add_argument("--agreement-model", type=Path, help="a trained checkpoint for agreement")
    parser.add_argument("--agreement-photos", type=int, default=300)
    parser.add_argument("--agreement-variants", default="torch-fp32,onnx,onnx-int8",
                        help="backends compared (the first is the reference)")
    parser.add_argument("--skip-speed", action="store_true", help="only the agreement figures")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("GROCERY_ASSISTANT_HOME", tempfile.mkdtemp(prefix="bench-classify-"))

    import torch

    from assistant.batch.local import classify_files
    variants = [v for v in args.variants.split(",") if v]
    model, what = (args.model, "given") if args.model else default_model()
    measured, calibration = split_photos(args.photos, args.n)
    out: dict = {"model": str(model), "model_kind": what, "cpu": torch.backends.cpu.get_cpu_capability(),
                 "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                 "load_before": os.getloadavg()[0], "photos": len(measured), "results": {}}
    print(f"model: {model} ({what}); {out['cores']} cores, {out['cpu']}; "
          f"load average {out['load_before']:.1f} (others share this machine when > 0)", file=sys.stderr)
    from assistant.inference.checkpoint import read_metadata
    from assistant.inference.vision import Preprocessing
    size = Preprocessing.from_dict(read_metadata(model)["preprocessing"]).size
    if not args.skip_speed:
        out["decode_per_s"] = {f"{w} threads": round(decode_rate(measured[:64], size, w, args.seconds / 2), 1)
                               for w in (1, args.workers)}
        print(f"decode + resize only: {out['decode_per_s']} photos/s", file=sys.stderr)
    batch = torch.randn(args.batch_size, 3, size, size)
    for variant in [] if args.skip_speed else variants:
        clf = open_variant(variant, model, calibration)
        model_only = timed(lambda c=clf: c.logits(batch), args.seconds, args.batch_size)
        report = classify_files(clf, measured, args.photos, args.batch_size, args.workers)
        out["results"][variant] = {"model_only": round(model_only, 1),
                                   "end_to_end": round(report.photos_per_second, 1)}
        base = out["results"].get("torch-fp32")  # the old path, measured in this same run
        ratio = (f"   ({report.photos_per_second / base['end_to_end']:.2f}x torch-fp32 end to end)"
                 if base and base["end_to_end"] else "")
        print(f"{variant:14s} model only {model_only:6.1f} photos/s   end to end "
              f"{report.photos_per_second:6.1f} photos/s{ratio}", file=sys.stderr)
        del clf
    if args.agreement_model:
        ids = {c["id"] for c in read_metadata(args.agreement_model)["classes"]}
        folders = {p.name for p in args.photos.iterdir() if p.is_dir()}
        photos, cal = split_photos(args.photos, args.agreement_photos, ids & folders or None)
        out["agreement_model"] = str(args.agreement_model)
        compared = [v for v in args.agreement_variants.split(",") if v]
        out["agreement"] = agreement(args.agreement_model, photos, args.photos, cal, compared)
        for variant, row in out["agreement"].items():
            extra = f", accuracy {row['accuracy']:.1%}" if "accuracy" in row else ""
            print(f"{variant:14s} top-1 agreement with {compared[0]} {row['agreement']:.1%}{extra} "
                  f"({len(photos)} photos)", file=sys.stderr)
    out["load_after"] = os.getloadavg()[0]
    print(f"load average at the end {out['load_after']:.1f}", file=sys.stderr)
    if args.json:
        print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
