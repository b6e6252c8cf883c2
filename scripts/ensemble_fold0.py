"""Fold-0 and validation top-1 of two checkpoints, and of their averaged calibrated probabilities.

usage: python scripts/ensemble_fold0.py MODEL_A MODEL_B   (folders from scripts/heldout_folder.py:
       /tmp/freiburg-val and /tmp/freiburg-fold0)
"""
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from assistant.inference.calibration import Calibration  # noqa: E402
from assistant.inference.classifier import Classifier  # noqa: E402
from model.data import load_folder  # noqa: E402
from model.evaluate import predict_logits  # noqa: E402


def main(paths: list[str]) -> None:
    for data in ("/tmp/freiburg-val", "/tmp/freiburg-fold0"):
        probs, top1 = [], {}
        for p in paths:
            clf = Classifier(p, device="cpu")
            photos = load_folder(data, size=clf.preprocessing.size, classes=clf.class_ids, min_per_class=1)
            with torch.inference_mode():
                logits = predict_logits(clf.model, photos.images, clf.preprocessing, torch.device("cpu"))
            y = photos.labels.numpy()
            pr = Calibration.from_meta(clf.checkpoint.meta).probabilities(logits.numpy())
            probs.append(pr)
            top1[Path(p).name] = round(float((pr.argmax(1) == y).mean()), 4)
        top1["ensemble"] = round(float((sum(probs) / len(probs)).argmax(1).__eq__(y).mean()), 4)
        print(data, len(y), json.dumps(top1))


if __name__ == "__main__":
    main(sys.argv[1:])
