"""Barcode reading on this machine: decode rate by size, tilt and blur for zxing-cpp and OpenCV's
detector on the same pictures, milliseconds per frame, and what reading costs recognition.

    python main.py bench --only barcodes -- [--model FILE] [--photos DIR] [--json FILE]

The pictures: EAN-13, EAN-8, UPC-A codes drawn by python-barcode and QR codes drawn by
zxing-cpp, pasted into real photos (the bundled demo, or --photos) at a share of the 640 px
frame width, turned, then blurred (Gaussian sigma in pixels: a shaky hand). "Added" is the
median classify time of a frame while the barcode thread reads 5 frames a second, minus the
median without it, measured in one run (the live pipeline's arrangement). A benchmark: it
prints figures and never fails.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from assistant.bench.barcode_pictures import code_image, paste
from assistant.inference.barcodes import read_codes, read_codes_opencv, read_in_view

ROOT = Path(__file__).resolve().parents[2]


CODES = [("EAN-13", "7310865004703"), ("EAN-8", "96385074"), ("UPC-A", "036000291452"),
         ("QR", "https://example.org/p/42")]
WIDTHS = (0.2, 0.3, 0.45, 0.6, 0.8)
TILTS = (0, 15, 30)
BLURS = (0.0, 1.0, 2.0)


def photos(folder: Path | None) -> list:
    import cv2

    from assistant.files import photos_in
    from assistant.inference.vision import load_image
    folder = folder or ROOT / "assets" / "demo"
    out = []
    for path in photos_in(folder)[:4]:
        rgb = load_image(path)
        out.append(cv2.resize(rgb, (640, 480), interpolation=cv2.INTER_AREA))
    return out


def decode_table(backgrounds: list) -> dict:
    readers = {"zxing-cpp": read_codes, "opencv": read_codes_opencv,
               "zxing-cpp + turned": lambda rgb: read_in_view(rgb)[0]}
    rows, ms = [], {name: [] for name in readers}
    for width in WIDTHS:
        for tilt in TILTS:
            for blur in BLURS:
                hits = {name: 0 for name in readers}
                n = 0
                for fmt, text in CODES:
                    code = code_image(text, fmt)
                    for k, photo in enumerate(backgrounds):
                        try:
                            picture = paste(photo, code, width=width, tilt=tilt, blur=blur,
                                            at=(0.5, 0.5 + 0.05 * k))
                        except ValueError:
                            continue
                        n += 1
                        for name, read in readers.items():
                            t0 = time.perf_counter()
                            found = read(picture)
                            ms[name].append((time.perf_counter() - t0) * 1000)
                            hits[name] += any(c.text == text for c in found)
                if n:
                    rows.append({"width": width, "tilt": tilt, "blur": blur, "n": n,
                                 **{name: hits[name] / n for name in readers}})
    return {"rows": rows, "ms_median": {name: statistics.median(v) for name, v in ms.items()},
            "overall": {name: sum(r[name] * r["n"] for r in rows) / sum(r["n"] for r in rows)
                        for name in readers}}


def added_to_recognition(model: Path | None, backgrounds: list, frames: int = 60) -> dict:
    from assistant.inference.onnx_backend import open_classifier
    from assistant.live.barcode_watch import BarcodeWatch
    from assistant.store.models import active_model_path
    clf = open_classifier(model or active_model_path(), "auto")
    picture = paste(backgrounds[0], code_image("7310865004703"), width=0.5)
    for _ in range(5):
        clf.predict(picture)

    def classify_ms() -> list[float]:
        out = []
        for _ in range(frames):
            t0 = time.perf_counter()
            clf.predict(picture)
            out.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.02)
        return out

    without = classify_ms()
    watch = BarcodeWatch(lambda: (picture, time.monotonic_ns()), lambda code: None, period=0.2)
    watch.start()
    try:
        with_reading = classify_ms()
    finally:
        watch.stop()
    again = classify_ms()
    base = statistics.median(without + again)
    return {"classify_ms_without": base, "classify_ms_with": statistics.median(with_reading),
            "added_ms": statistics.median(with_reading) - base,
            "read_ms_median": statistics.median(watch.read_ms) if watch.read_ms else None,
            "reads": watch.frames_read, "model": str(clf.path)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="model for the recognition figure (default: active)")
    parser.add_argument("--photos", type=Path, help="photos to paste the codes into (default: the demo)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    backgrounds = photos(args.photos)
    table = decode_table(backgrounds)
    names = list(table["overall"])
    print("Decode rate, codes pasted into real photos (640x480); 'zxing-cpp + turned' is what "
          "the live pipeline does:")
    print(f"  {'width':>5} {'tilt':>4} {'blur':>4} {'n':>3}  " + "  ".join(f"{n:>18}" for n in names))
    for r in table["rows"]:
        print(f"  {r['width']:5.2f} {r['tilt']:4d} {r['blur']:4.1f} {r['n']:3d}  "
              + "  ".join(f"{r[n]:18.0%}" for n in names))
    print("  all: " + ", ".join(f"{n} {table['overall'][n]:.0%} ({table['ms_median'][n]:.1f} ms "
                                "median a frame)" for n in names))
    cost = added_to_recognition(args.model, backgrounds)
    print(f"\nRecognition with the barcode thread reading 5 frames/s ({cost['reads']} reads, "
          f"{cost['read_ms_median']:.1f} ms each): classify {cost['classify_ms_without']:.1f} ms "
          f"-> {cost['classify_ms_with']:.1f} ms per frame (added {cost['added_ms']:+.1f} ms, "
          f"goal <= 10)")
    print(f"(this CPU: {_cpu()})")
    if args.json:
        args.json.write_text(json.dumps({"decode": table, "recognition": cost, "cpu": _cpu()},
                                        indent=1) + "\n")
    return 0


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
