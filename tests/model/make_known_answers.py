"""Chooses the photos of tests/model/known_answers.csv: for each Freiburg product, the first two
photos (in the order of model/splits/freiburg-fold0.csv: validation photos first, which no
bundled model trained on, then fold 0's test photos) that every bundled model names right on
the app's runtime, surely (calibrated probability >= 0.5, the runner-up 0.2 behind), so that
a CPU's rounding cannot turn the answer. Run again when a bundled model changes:

    PYTHONPATH=. .venv/bin/python tests/model/make_known_answers.py
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FREIBURG = ROOT.parent / "shared" / "data" / "freiburg"
OUT = Path(__file__).with_name("known_answers.csv")
PER_PRODUCT, CANDIDATES = 2, 8


def main() -> int:
    from assistant.inference.onnx_backend import open_classifier
    from assistant.inference.vision import load_image
    from assistant.store.models import bundled_models
    with open(ROOT / "model" / "splits" / "freiburg-fold0.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    candidates: dict[str, list[str]] = {}
    for split in ("val", "test"):
        for row in rows:
            product = Path(row["path"]).parent.name
            if row["split"] == split and len(candidates.setdefault(product, [])) < CANDIDATES:
                candidates[product].append(row["path"])
    photos = [(p, product) for product, paths in sorted(candidates.items()) for p in paths]
    pictures = [load_image(FREIBURG / p) for p, _ in photos]
    sure = [True] * len(photos)
    for model in bundled_models():
        clf = open_classifier(model, "auto", device="cpu")
        for i, pred in enumerate(clf.predict_batch(pictures)):
            (label, score), (_, second) = pred.top[0], pred.top[1]
            sure[i] = sure[i] and label == photos[i][1] and score >= 0.5 and score - second >= 0.2
    chosen: dict[str, list[str]] = {}
    for (path, product), ok in zip(photos, sure, strict=True):
        if ok and len(chosen.setdefault(product, [])) < PER_PRODUCT:
            chosen[product].append(path)
    with open(OUT, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["photo", "product"])
        w.writerows([(p, product) for product, paths in sorted(chosen.items()) for p in paths])
    missing = sorted(set(candidates) - {p for p, paths in chosen.items() if paths})
    print(f"wrote {OUT}: {sum(map(len, chosen.values()))} photos; no sure photo of: {missing}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
