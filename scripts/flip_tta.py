"""Does mirror averaging pay, and what does the "said as sure" band cover at 98% right? For a
fold-0 checkpoint, from the photo alone and from the photo and its mirror image (logits averaged,
as `Preprocessing.mirror` does): top-1 on fold 0, and the said-as-sure band on fold 0 when the
temperature and the thresholds are fitted (model.calibrate, as `evaluate --calibrate` does)
  - on the validation photos alone;
  - on the validation photos and half of fold 0, measured on the other half (100 random halves:
    mean and 5-95% range): what thresholds fitted on all the held-out photos are expected to do;
and the largest share of fold 0 that could be said as sure at 98% right (chosen on fold 0
itself: an upper bound, not a setting).

usage: .venv/bin/python scripts/flip_tta.py MODEL   (a fold-0 model; folders from
       scripts/heldout_folder.py: /tmp/freiburg-fold0 and, with SPLIT val, /tmp/freiburg-val)
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from assistant.inference.calibration import bands  # noqa: E402
from assistant.inference.checkpoint import load_checkpoint  # noqa: E402
from assistant.inference.prediction import softmax  # noqa: E402
from model.calibrate import choose_bands, fit_temperature  # noqa: E402
from model.data import load_folder  # noqa: E402
from model.evaluate import predict_logits  # noqa: E402


def fitted_band(logits, labels, test_logits, test_labels) -> dict:
    t = fit_temperature(logits, labels)
    say, maybe = choose_bands(softmax(logits / t), labels)
    return dict(bands(softmax(test_logits / t), test_labels, say, maybe)["say"], say=say)


def main(path: str) -> None:
    ckpt = load_checkpoint(path)
    net = ckpt.network("cpu")  # the bare network: the photo and its mirror image apart
    out = {}
    for data in ("/tmp/freiburg-val", "/tmp/freiburg-fold0"):
        photos = load_folder(data, size=ckpt.preprocessing.size, classes=ckpt.class_ids, min_per_class=1)
        with torch.inference_mode():
            plain, flipped = (predict_logits(net, im, ckpt.preprocessing, torch.device("cpu")).numpy()
                              for im in (photos.images, photos.images.flip(-1)))
        out[Path(data).name] = (plain, (plain + flipped) / 2, photos.labels.numpy())
    (pv, mv, yv), (p0, m0, y0) = out["freiburg-val"], out["freiburg-fold0"]
    rng = np.random.default_rng(0)
    halves = [rng.permutation(len(y0)) for _ in range(50)]
    for kind, lv, l0 in (("photo", pv, p0), ("photo+mirror", mv, m0)):
        right = l0.argmax(1) == y0
        line = {"top1": round(float(right.mean()), 4),
                "val_fitted": fitted_band(lv, yv, l0, y0)}
        crossed = []
        for idx in halves:
            a, b = idx[:len(idx) // 2], idx[len(idx) // 2:]
            for fit, test in ((a, b), (b, a)):
                crossed.append(fitted_band(np.concatenate([lv, l0[fit]]), np.concatenate([yv, y0[fit]]),
                                           l0[test], y0[test]))
        for key in ("coverage", "right"):
            v = np.array([c[key] for c in crossed], dtype=float)
            line[f"crossfit_{key}"] = [round(float(v.mean()), 4), round(float(np.percentile(v, 5)), 4),
                                       round(float(np.percentile(v, 95)), 4)]
        conf = softmax(l0).max(1)
        ranked = np.cumsum(right[np.argsort(-conf)]) / np.arange(1, len(y0) + 1)
        ok = np.where(ranked >= 0.98)[0]
        line["best_coverage_at_98"] = round((ok.max() + 1) / len(y0), 3) if len(ok) else 0.0
        print(kind, len(y0), json.dumps(line))


if __name__ == "__main__":
    main(sys.argv[1])
