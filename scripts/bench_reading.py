"""Benchmark of the label reader: on GroceryStore photos of packaged products, the share whose
read text contains the brand, and milliseconds per read.

    nice -n 5 .venv/bin/python scripts/bench_reading.py [--split val] [--data ../shared/data]

Prints one line per brand, then the totals; no timed test asserts these figures.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BRANDS = ("Alpro", "Arla", "Bravo", "Garant", "God-Morgon", "Oatly", "Tropicana", "Valio", "Yoggi")


def squash(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def near(brand: str, text: str) -> bool:
    """The brand in the text with at most one letter wrong (Arlo for Arla, Vali for Valio)."""
    n = len(brand)
    if brand in text:
        return True
    for size in (n - 1, n, n + 1):
        for i in range(0, max(0, len(text) - size) + 1):
            if _distance(brand, text[i:i + size]) <= 1:
                return True
    return False


def _distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--split", default="val")
    parser.add_argument("--limit", type=int, default=0, help="at most this many photos per brand")
    args = parser.parse_args()
    from assistant.files import photos_in
    from assistant.reading import LabelReader, open_engine

    folder = Path(args.data) / "grocerystore" / args.split
    if not folder.is_dir():
        print(f"bench_reading: {folder}: no such folder", file=sys.stderr)
        return 1
    reader = LabelReader(open_engine("auto"))
    reader.read_photo(next(iter(photos_in(folder / "Arla-Standard-Milk"))))  # load the models
    totals = {"photos": 0, "exact": 0, "near": 0}
    ms: list[float] = []
    for brand in BRANDS:
        photos = [p for d in sorted(folder.glob(f"{brand}-*")) for p in photos_in(d)]
        photos = photos[:args.limit] if args.limit else photos
        if not photos:
            print(f"{brand:11s}  no photos in {args.split}")
            continue
        exact = close = 0
        for photo in photos:
            t0 = time.perf_counter()
            reading = reader.read_photo(photo)
            ms.append((time.perf_counter() - t0) * 1000)
            text = squash(" ".join(reading.lines))
            exact += squash(brand) in text
            close += near(squash(brand), text)
        totals["photos"] += len(photos)
        totals["exact"] += exact
        totals["near"] += close
        print(f"{brand:11s}  {exact:3d}/{len(photos):3d} brand read   "
              f"{close:3d}/{len(photos):3d} within one letter", flush=True)
    n = max(totals["photos"], 1)
    print(f"all brands   {totals['exact']}/{totals['photos']} = {100 * totals['exact'] / n:.1f}% "
          f"brand read; {totals['near']}/{totals['photos']} = {100 * totals['near'] / n:.1f}% "
          f"within one letter")
    print(f"ms per read  median {statistics.median(ms):.0f}, mean {statistics.mean(ms):.0f}, "
          f"max {max(ms):.0f} ({len(ms)} reads, photos of {args.split})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
