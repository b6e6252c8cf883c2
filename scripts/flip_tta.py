"""Does flip test-time augmentation pay? A checkpoint's top-1 and "said as sure" band on fold 0
(and val), from the photo alone and from the photo and its mirror image averaged (calibrated
probabilities), at several thresholds, and the largest share of photos that could be said as
sure at 98% right (chosen on fold 0 itself: an upper bound, not a setting).

usage: .venv/bin/python scripts/flip_tta.py MODEL   (a fold-0 model, e.g. the bundled Lite0;
       folders from scripts/heldout_folder.py: /tmp/freiburg-fold0 and, with SPLIT val,
       /tmp/freiburg-val)
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from assistant.inference.calibration import Calibration  # noqa: E402
from assistant.inference.classifier import Classifier  # noqa: E402
from model.data import load_folder  # noqa: E402
from model.evaluate import predict_logits  # noqa: E402


def logits(clf: Classifier, images: torch.Tensor, flip: bool) -> np.ndarray:
    """fp32 logits of the photos, or of their mirror images (the centre crop commutes with it)."""
    with torch.inference_mode():
        return predict_logits(clf.model, images.flip(-1) if flip else images, clf.preprocessing,
                              torch.device("cpu")).numpy()


def main(path: str) -> None:
    clf = Classifier(path, device="cpu")
    cal = Calibration.from_meta(clf.checkpoint.meta)
    for data in ("/tmp/freiburg-val", "/tmp/freiburg-fold0"):
        photos = load_folder(data, size=clf.preprocessing.size, classes=clf.class_ids, min_per_class=1)
        y = photos.labels.numpy()
        plain = cal.probabilities(logits(clf, photos.images, False))
        flipped = (plain + cal.probabilities(logits(clf, photos.images, True))) / 2
        for kind, p in (("photo", plain), ("photo+mirror", flipped)):
            conf, right = p.max(1), p.argmax(1) == y
            line = {"top1": round(float(right.mean()), 4)}
            for t in (0.8, 0.9, 0.95, 0.97):
                said = conf >= t
                line[f"sure>={t}"] = {"coverage": round(float(said.mean()), 3),
                                      "right": round(float(right[said].mean()), 4)}
            ranked = np.cumsum(right[np.argsort(-conf)]) / np.arange(1, len(y) + 1)
            ok = np.where(ranked >= 0.98)[0]
            line["best_coverage_at_98"] = round((ok.max() + 1) / len(y), 3) if len(ok) else 0.0
            print(Path(data).name, len(y), kind, json.dumps(line))


if __name__ == "__main__":
    main(sys.argv[1])
