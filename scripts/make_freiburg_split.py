"""Write model/splits/freiburg-fold0.csv from ../shared/data/freiburg/folds.csv.

Fold 0 (the authors' protocol) is the held-out test set; of folds 1-3, a stratified 10% (seed 0)
is the validation set used to pick the epoch; the rest trains.
Usage: python scripts/make_freiburg_split.py [FOLDS_CSV] [OUT_CSV]
"""
import csv
import random
import sys
from collections import defaultdict
from pathlib import Path

root = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(root))
from model.split_file import SplitFile  # noqa: E402

folds = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared/data/freiburg/folds.csv"
out = Path(sys.argv[2]) if len(sys.argv) > 2 else root / "model/splits/freiburg-fold0.csv"
rows = list(csv.DictReader(open(folds, newline="")))
rng = random.Random(0)
by_class = defaultdict(list)
split = {}
for r in rows:
    if r["test_fold"] == "0":
        split[r["path"]] = "test"
    else:
        by_class[r["class"]].append(r["path"])
for cls in sorted(by_class):
    paths = sorted(by_class[cls])
    rng.shuffle(paths)
    n_val = round(0.1 * len(paths))
    for i, p in enumerate(paths):
        split[p] = "val" if i < n_val else "train"
SplitFile.write(out, ((r["path"], split[r["path"]]) for r in rows))
counts = defaultdict(int)
for s in split.values():
    counts[s] += 1
print(f"wrote {out}: {dict(counts)}")
