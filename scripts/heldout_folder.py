"""Lay out the held-out photos of a split file as a folder per class (symlinks), for `evaluate`.

usage: python scripts/heldout_folder.py [SPLIT_CSV] [DATA_ROOT] [OUT_DIR] [SPLIT]
defaults: model/splits/freiburg-fold0.csv, ../shared/data/freiburg, /tmp/freiburg-fold0, test
then:     python main.py evaluate --data /tmp/freiburg-fold0 --json
          (SPLIT val: the validation photos, e.g. for `evaluate --calibrate`)
"""
import sys
from pathlib import Path

from model.split_file import SplitFile

root = Path(__file__).resolve().parents[1]

split = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "model/splits/freiburg-fold0.csv"
data = Path(sys.argv[2]) if len(sys.argv) > 2 else root.parent / "shared/data/freiburg"
out = Path(sys.argv[3]) if len(sys.argv) > 3 else Path("/tmp/freiburg-fold0")
wanted = sys.argv[4] if len(sys.argv) > 4 else "test"
n = 0
for photos in SplitFile.read(split).by_class(wanted, data).values():
    for photo in photos:
        src = photo.resolve()
        dst = out / src.parent.name / src.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            dst.symlink_to(src)
        n += 1
print(f"{n} {wanted} photos under {out}")
