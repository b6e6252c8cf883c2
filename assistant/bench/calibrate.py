"""Figures behind the announcer's default thresholds, for a model and a validation folder.

    python main.py bench --only calibrate -- --model M.safetensors --data VAL_DIR [--limit 40]
    python main.py bench --only calibrate -- --data ../shared/data/freiburg/images \
        --split-file model/splits/freiburg-fold0.csv --split val

VAL_DIR holds one sub-folder of photos per product (folder name = the model's product id);
or --split-file picks the photos of one split from a path,split CSV.
Prints, for the confidence bands of the announcer (say the name / "not sure, maybe X" /
silent), how many photos fall in each band (coverage) and how often the named product is
right (accuracy); accuracy and coverage above a range of thresholds; a suggestion for
say_threshold and maybe_threshold; and how accuracy falls as pictures get darker or more
blurred, next to the brightness and sharpness the announcer measures, which is what
dark_level and blur_level are set from. Rerun it when the bundled model changes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
DARKEN = (1.0, 0.5, 0.3, 0.2, 0.15, 0.1, 0.05)
BLUR_SIGMA = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0)


def split_rows(data: Path, split_file: Path, split: str) -> dict[str, list[Path]]:
    """Product folder name -> its photos in `split` of a path,split CSV (paths from data/..)."""
    from model.split_file import SplitFile
    folders = SplitFile.read(split_file).by_class(split, data.parent)
    if not folders:
        raise SystemExit(f"{split_file}: no rows of split {split!r}")
    return folders


def load_set(data: Path, class_ids: list[str], limit: int, split_file: Path | None = None,
             split: str = "val"):
    from assistant.inference.vision import ImageError, load_image
    from assistant.live.camera import list_photos
    if split_file is not None:
        folders = split_rows(data, split_file, split)
    else:
        folders = {p.name: list_photos(p) for p in sorted(data.iterdir()) if p.is_dir()}
    pictures, labels, skipped = [], [], []
    for name in sorted(folders):
        if name not in class_ids:
            skipped.append(name)
            continue
        for path in folders[name][:limit]:
            try:
                pictures.append(load_image(path))
            except ImageError as exc:
                print(f"  skipping {exc}", file=sys.stderr)
                continue
            labels.append(class_ids.index(name))
    if skipped:
        print(f"(folders the model does not know, left out: {', '.join(skipped)})")
    if not pictures:
        raise SystemExit(f"{data}: no photos in folders named after the model's products")
    return pictures, np.array(labels)


def classify(classifier, pictures, batch: int = 32) -> np.ndarray:
    import torch
    out = []
    for start in range(0, len(pictures), batch):
        x = classifier.preprocessing.batch(pictures[start:start + batch])
        out.append(torch.softmax(classifier.logits(x), dim=1).numpy())
    return np.concatenate(out)


def band_table(top: np.ndarray, right: np.ndarray, say: float, maybe: float) -> None:
    print(f"\nBands at say_threshold={say:.2f}, maybe_threshold={maybe:.2f} "
          f"({len(top)} photos, one frame each):")
    print(f"  {'band':<28}{'coverage':>10}{'accuracy':>10}")
    for name, mask in (("say the name", top >= say),
                       ("not sure, maybe X", (top >= maybe) & (top < say)),
                       ("silent", top < maybe)):
        acc = f"{right[mask].mean():.1%}" if mask.any() else "-"
        print(f"  {name:<28}{mask.mean():>10.1%}{acc:>10}")


def threshold_table(top: np.ndarray, right: np.ndarray) -> None:
    print("\nIf the name were said at probability >= t:")
    print(f"  {'t':>5}{'coverage':>10}{'accuracy':>10}")
    for t in THRESHOLDS:
        mask = top >= t
        acc = f"{right[mask].mean():.1%}" if mask.any() else "-"
        print(f"  {t:>5.2f}{mask.mean():>10.1%}{acc:>10}")


def suggest(top: np.ndarray, right: np.ndarray, target_say: float, target_maybe: float):
    """Lowest t whose band is right target_say of the time; lowest maybe-t right target_maybe."""
    say = next((t for t in THRESHOLDS if (top >= t).any() and right[top >= t].mean() >= target_say),
               THRESHOLDS[-1])
    maybe = say
    for t in sorted((t for t in THRESHOLDS if t < say), reverse=True):
        mask = (top >= t) & (top < say)
        if mask.any() and right[mask].mean() >= target_maybe:
            maybe = t
        else:
            break
    return say, maybe


def degradation_table(classifier, pictures, labels) -> None:
    import cv2

    from assistant.inference.vision import brightness, sharpness
    print(f"\nDarker pictures ({len(labels)} photos; brightness as the announcer measures it, 0-255):")
    print(f"  {'factor':>7}{'median brightness':>19}{'accuracy':>10}")
    for factor in DARKEN:
        dark = [(p.astype(np.float32) * factor).astype(np.uint8) for p in pictures]
        acc = (classify(classifier, dark).argmax(1) == labels).mean()
        print(f"  {factor:>7.2f}{np.median([brightness(p) for p in dark]):>19.1f}{acc:>10.1%}")
    print("\nBlurred pictures (sharpness = variance of the Laplacian at 224 px):")
    print(f"  {'sigma':>7}{'median sharpness':>19}{'accuracy':>10}")
    for sigma in BLUR_SIGMA:
        blurred = [cv2.GaussianBlur(p, (0, 0), sigma * max(p.shape[:2]) / 224) if sigma else p
                   for p in pictures]
        acc = (classify(classifier, blurred).argmax(1) == labels).mean()
        print(f"  {sigma:>7.1f}{np.median([sharpness(p) for p in blurred]):>19.1f}{acc:>10.1%}")
    bright = np.array([brightness(p) for p in pictures])
    sharp = np.array([sharpness(p) for p in pictures])
    print(f"\nClean photos: brightness 1st/5th percentile {np.percentile(bright, 1):.1f} / "
          f"{np.percentile(bright, 5):.1f}; sharpness 1st/5th percentile "
          f"{np.percentile(sharp, 1):.1f} / {np.percentile(sharp, 5):.1f}")


def main(argv: list[str] | None = None) -> int:
    from assistant.inference.classifier import Classifier
    from assistant.live.announcer import AnnouncerSettings
    parser = argparse.ArgumentParser(prog="main.py bench --only calibrate --",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="checkpoint (default: the active model)")
    parser.add_argument("--data", type=Path, required=True, help="folder-per-product photos")
    parser.add_argument("--limit", type=int, default=1000, help="photos per product at most")
    parser.add_argument("--split-file", type=Path,
                        help="path,split CSV (as model/splits/*.csv); paths relative to the "
                             "parent of --data")
    parser.add_argument("--split", default="val", help="which split of --split-file to use")
    parser.add_argument("--target", type=float, default=0.95,
                        help="accuracy wanted when the name is said plainly")
    parser.add_argument("--target-maybe", type=float, default=0.5,
                        help="accuracy wanted from 'not sure, maybe X'")
    parser.add_argument("--threads", type=int, help="torch threads (1 is faster on a busy machine)")
    parser.add_argument("--no-degrade", action="store_true", help="skip the dark/blur tables")
    parser.add_argument("--degrade-photos", type=int, default=120,
                        help="photos used for the dark/blur tables")
    args = parser.parse_args(argv)
    if args.model is None:
        from assistant.store.models import active_model_path
        args.model = active_model_path()
    classifier = Classifier(args.model, threads=args.threads)
    print(f"model {args.model} ({len(classifier.class_ids)} products), data {args.data}")
    pictures, labels = load_set(args.data, classifier.class_ids, args.limit, args.split_file,
                                args.split)
    probs = classify(classifier, pictures)
    top, right = probs.max(1), probs.argmax(1) == labels
    top3 = (np.argsort(-probs, axis=1)[:, :3] == labels[:, None]).any(1)
    print(f"{len(labels)} photos: top-1 {right.mean():.1%}, top-3 {top3.mean():.1%}")
    defaults = AnnouncerSettings()
    band_table(top, right, defaults.say_threshold, defaults.maybe_threshold)
    threshold_table(top, right)
    say, maybe = suggest(top, right, args.target, args.target_maybe)
    print(f"\nSuggested: say_threshold={say:.2f} (name right >= {args.target:.0%}), "
          f"maybe_threshold={maybe:.2f} (maybe right >= {args.target_maybe:.0%})")
    band_table(top, right, say, maybe)
    # votes: `agreement` of `window` frames must agree; if frames erred independently this
    # is the chance that a wrong product wins (frames of one hold are correlated: an upper
    # bound on the benefit, not a promise)
    from math import comb
    n, k = defaults.window, defaults.agreement
    for name, mask in (("name", top >= say), ("maybe", (top >= maybe) & (top < say))):
        if not mask.any():
            continue
        err = 1.0 - right[mask].mean()
        wrong = sum(comb(n, i) * err ** i * (1 - err) ** (n - i) for i in range(k, n + 1))
        print(f"'{name}' band, {err:.1%} of frames wrong: {k}+ of {n} frames wrong in "
              f"{wrong:.2%} of holds if errors were independent (an upper bound on a wrong "
              f"product winning the vote)")
    if not args.no_degrade:
        # 14 more passes over the photos: a fixed, spread-out subset keeps it to minutes
        keep = np.linspace(0, len(labels) - 1, min(len(labels), args.degrade_photos)).astype(int)
        degradation_table(classifier, [pictures[i] for i in keep], labels[keep])
    return 0
