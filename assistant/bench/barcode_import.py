"""What a big barcode list costs: `barcodes import` of N generated EAN-13 codes (peak resident
memory and time), then opening the list and a lookup, and the app's start, with that list and
with an empty one. A benchmark: it prints figures and never fails.

    python main.py bench --only barcode-import -- [--codes 1000000] [--repeat 3] [--no-app]

Everything happens in a temp folder (GROCERY_ASSISTANT_HOME), never in the user's home. The
app's start is `main.py app --once` on one photo with the silent voice and Qt's offscreen
platform: from launch until it has said the photo and quit.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LOOKUP = """
import time
t = time.perf_counter()
book, problem = open_book()
assert problem is None, problem
book.get("2000000000015")
print(time.perf_counter() - t)
"""


def ean13(n: int) -> str:
    digits = "200" + f"{n:09d}"
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def write_list(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("code,en,es\n")
        for n in range(count):
            fh.write(f"{ean13(n)},Product number {n},Producto número {n}\n")


def run(home: Path, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    env = dict(os.environ, GROCERY_ASSISTANT_HOME=str(home), PYTHONPATH=str(ROOT),
               QT_QPA_PLATFORM="offscreen")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"  failed: {' '.join(args)}\n{done.stderr[-2000:]}", file=sys.stderr)
    return time.perf_counter() - start, done


def import_peak(home: Path, listing: Path) -> tuple[float, float]:
    """(seconds, peak resident MB) of `barcodes import` in a child of its own (ru_maxrss of
    the children is the largest any child reached: this one runs first)."""
    seconds, _ = run(home, "main.py", "barcodes", "import", str(listing))
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def startups(home: Path, photo: Path, repeat: int, app: bool) -> tuple[float, float | None]:
    """Median seconds of opening the list plus one lookup, and of the app's whole start."""
    lookups = [float(run(home, "-c", LOOKUP)[1].stdout or "nan") for _ in range(repeat)]
    if not app:
        return statistics.median(lookups), None
    starts = [run(home, "main.py", "app", "--once", "--source", str(photo.parent), "--hold", "0.1",
                  "--engine", "silent")[0] for _ in range(repeat)]
    return statistics.median(lookups), statistics.median(starts)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-app", action="store_true", help="time the list only, not the app's start")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        listing = work / "codes.csv"
        write_list(listing, args.codes)
        demo = sorted((ROOT / "assets" / "demo").glob("*.jpg"))[:1]
        photo_dir = work / "one-photo"
        photo_dir.mkdir()
        photo = photo_dir / "photo.jpg"
        if demo:
            photo.write_bytes(demo[0].read_bytes())
        app = not args.no_app and photo.exists()
        big, empty = work / "home-big", work / "home-empty"
        seconds, peak = import_peak(big, listing)
        print(f"import of {args.codes:,} codes ({listing.stat().st_size / 1e6:.1f} MB CSV): "
              f"{seconds:.1f} s, peak resident {peak:.0f} MB")
        store = big / "data" / "barcodes.sqlite3"
        print(f"store: {store.stat().st_size / 1e6:.1f} MB on disk")
        for label, home in (("empty list", empty), (f"{args.codes:,} codes", big)):
            lookup, start = startups(home, photo, args.repeat, app)
            print(f"{label:>16}: open + lookup {lookup * 1000:.1f} ms"
                  + (f", app start to quit {start:.2f} s" if start is not None else "")
                  + f" (median of {args.repeat})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
