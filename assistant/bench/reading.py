"""Benchmark of the label reader on GroceryStore photos of packaged products: the share whose
read text contains the brand, milliseconds per read and, with --labels N, how often the label
words learnt from N training photos per product name the right product on their own.

    python main.py bench --only reading -- [--labels 4] [--data ../shared/data]
    python main.py bench --only reading -- --live MODEL   # ms added per frame

With --live MODEL (a model with label words): milliseconds per classified frame on the val
photos of the packaged products with the label-words watch off, then on (reading beside it in
its own thread, as the app does), and the fusion's own time.

Prints one line per brand, then the totals; no timed test asserts these figures.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

from assistant.reading.labels import distance, read_in

ROOT = Path(__file__).resolve().parents[2]


BRANDS = ("Alpro", "Arla", "Bravo", "Garant", "God-Morgon", "Oatly", "Tropicana", "Valio", "Yoggi")


def squash(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def near(brand: str, text: str) -> bool:
    """The brand in the text with at most one letter wrong (Arlo for Arla, Vali for Valio)."""
    if brand in text:
        return True
    return any(distance(brand, text[i:i + size]) <= 1
               for size in (len(brand) - 1, len(brand), len(brand) + 1)
               for i in range(0, max(0, len(text) - size) + 1))


def products(folder: Path) -> dict[str, list[Path]]:
    from assistant.files import photos_in
    return {d.name: photos_in(d) for brand in BRANDS for d in sorted(folder.glob(f"{brand}-*"))}


def read_all(reader, photos: list[Path], ms: list[float]) -> dict[Path, list[str]]:
    out = {}
    for photo in photos:
        t0 = time.perf_counter()
        out[photo] = reader.read_photo(photo).lines
        ms.append((time.perf_counter() - t0) * 1000)
    return out


def brand_share(val: dict[str, list[Path]], lines: dict[Path, list[str]]) -> None:
    """Per brand: the brand's letters in the text read (squashed), within one letter of it,
    and read as label words are matched (labels.read_in: accents folded, digits read for
    letters, a name split over boxes joined); the last is the figure the issue's bar is for."""
    exact_all = near_all = matched_all = count = 0
    for brand in BRANDS:
        photos = [p for pid, ps in val.items() if pid.startswith(f"{brand}-") for p in ps]
        if not photos:
            print(f"{brand:11s}  no photos")
            continue
        texts = [squash(" ".join(lines[p])) for p in photos]
        exact = sum(squash(brand) in t for t in texts)
        close = sum(near(squash(brand), t) for t in texts)
        matched = sum(read_in(brand, lines[p]) for p in photos)
        exact_all, near_all, count = exact_all + exact, near_all + close, count + len(photos)
        matched_all += matched
        print(f"{brand:11s}  {exact:3d}/{len(photos):3d} brand read   "
              f"{close:3d}/{len(photos):3d} within one letter   "
              f"{matched:3d}/{len(photos):3d} matched", flush=True)
    print(f"all brands   {exact_all}/{count} = {100 * exact_all / max(count, 1):.1f}% brand read; "
          f"{near_all}/{count} = {100 * near_all / max(count, 1):.1f}% within one letter; "
          f"{matched_all}/{count} = {100 * matched_all / max(count, 1):.1f}% matched (labels.read_in)")


def label_words(reader, train: dict[str, list[Path]], val: dict[str, list[Path]],
                lines: dict[Path, list[str]], per_product: int, ms: list[float]) -> None:
    from assistant.reading.labels import learn, match, named_product
    taught = {pid: list(read_all(reader, ps[:: max(1, len(ps) // per_product)][:per_product],
                                 ms).values()) for pid, ps in train.items()}
    words = learn(taught)
    right = named = named_right = total = 0
    for pid, photos in val.items():
        for photo in photos:
            scores = match(lines[photo], words)
            best = max(scores, key=scores.get) if scores and max(scores.values()) > 0 else None
            right += best == pid
            sure = named_product(scores)
            named += sure is not None
            named_right += sure == pid
            total += 1
    print(f"label words  learnt from {per_product} train photos of each of {len(train)} products; "
          f"alone they put the right product first on {right}/{total} val photos "
          f"({100 * right / max(total, 1):.1f}%); named it (sure) on {named}, {named_right} right")


def live_cost(model: str, photos: list[Path], rounds: int = 3) -> None:
    """Median ms per classified frame without and with the label-words watch, and the fusion."""
    import threading

    from assistant.inference.checkpoint import read_metadata
    from assistant.inference.onnx_backend import open_classifier
    from assistant.inference.vision import load_image
    from assistant.reading.watch import open_watch
    clf = open_classifier(model)
    watch = open_watch(read_metadata(model))
    if watch is None:
        print(f"bench_reading --live: {model} has no label words, or no text engine", file=sys.stderr)
        return
    frames = [load_image(p) for p in photos]
    current = [frames[0], 0]
    lock = threading.Lock()

    def latest():
        with lock:
            return current[0], current[1]

    def run(with_watch: bool) -> tuple[list[float], list[float]]:
        ms, fuse_ms = [], []
        for n in range(rounds * len(frames)):
            frame = frames[n % len(frames)]
            with lock:
                current[:] = [frame, n + 1]
            t0 = time.perf_counter()
            prediction = clf.predict(frame, watch.k if with_watch else 3)
            t1 = time.perf_counter()
            if with_watch:
                watch.fuse(prediction)
            ms.append((time.perf_counter() - t0) * 1000)
            fuse_ms.append((time.perf_counter() - t1) * 1000)
        return ms, fuse_ms

    clf.predict(frames[0])  # warm up
    plain, _ = run(False)
    watch.start(latest)
    try:
        fused, fuse_ms = run(True)
    finally:
        watch.stop()
    print(f"live         ms per classified frame: median {statistics.median(plain):.1f} without "
          f"the label words, {statistics.median(fused):.1f} with them read beside it "
          f"({watch.frames_read} reads, median {statistics.median(watch.read_ms or [0]):.0f} ms) "
          f"= {statistics.median(fused) - statistics.median(plain):+.1f} ms added; the fusion "
          f"itself median {statistics.median(fuse_ms):.3f} ms ({len(plain)} frames each)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--split", default="val")
    parser.add_argument("--labels", type=int, default=0, metavar="N",
                        help="also learn label words from N train photos per product")
    parser.add_argument("--live", metavar="MODEL",
                        help="only measure the ms a model's label words add per classified frame")
    args = parser.parse_args(argv)
    from assistant.reading import LabelReader, open_engine

    root = Path(args.data) / "grocerystore"
    if not (root / args.split).is_dir():
        print(f"bench_reading: {root / args.split}: no such folder", file=sys.stderr)
        return 1
    val = products(root / args.split)
    if args.live:
        live_cost(args.live, [p for ps in val.values() for p in ps])
        return 0
    reader = LabelReader(open_engine("auto"))
    reader.read_photo(next(iter(val.values()))[0])  # load the models before timing
    ms: list[float] = []
    lines = read_all(reader, [p for ps in val.values() for p in ps], ms)
    brand_share(val, lines)
    print(f"ms per read  median {statistics.median(ms):.0f}, mean {statistics.mean(ms):.0f}, "
          f"max {max(ms):.0f} ({len(ms)} reads, photos of {args.split})", flush=True)
    if args.labels:
        label_words(reader, products(root / "train"), val, lines, args.labels, [])
    return 0


if __name__ == "__main__":
    sys.exit(main())
