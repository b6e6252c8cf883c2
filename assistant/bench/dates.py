"""Benchmark of date reading: printed date stickers pasted on GroceryStore photos of packaged
products (tilted, blurred, small), read by the label reader; the share read right per language.

    python main.py bench --only dates -- [--data ../shared/data]

The stickers are drawn here (DejaVu Sans, matplotlib's own font): a stand-in for photos of real
date prints, which the data folder does not hold. No timed test asserts these figures.
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# (language, printed words, the date they mean)
STICKERS = [
    ("en", "Best before 20.12.2026", "2026-12-20"),
    ("en", "BEST BEFORE END 12/2027", "2027-12"),
    ("en", "USE BY 05 JAN 2027", "2027-01-05"),
    ("en", "EXP 2027-03-14", "2027-03-14"),
    ("en", "Bäst före 2026-11-30", "2026-11-30"),
    ("en", "BB 08/09/27", "2027-09-08"),
    ("es", "Consumir preferentemente antes del 03/02/27", "2027-02-03"),
    ("es", "Caducidad 15.08.2027", "2027-08-15"),
    ("es", "Consumir antes del 21-06-2027", "2027-06-21"),
    ("es", "Fecha de caducidad: 10/2027", "2027-10"),
    ("es", "CAD 30.04.27", "2027-04-30"),
    ("es", "Consumo preferente 12 DIC 2026", "2026-12-12"),
]
#: (font px, degrees, blur radius): from easy to hard
CONDITIONS = [(26, 0, 0.0), (20, 6, 0.8), (16, -9, 1.2)]


def sticker_photo(photo: Path, words: str, font_px: int, degrees: float, blur: float):
    import matplotlib
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter, ImageFont
    font = ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf"),
                              font_px)
    base = Image.open(photo).convert("RGB").resize((640, 640)).crop((0, 80, 640, 560))
    left, top, right, bottom = font.getbbox(words)
    label = Image.new("RGBA", (right + 16, bottom + 12), (250, 250, 245, 255))
    ImageDraw.Draw(label).text((8, 6 - top // 2), words, font=font, fill=(20, 20, 20, 255))
    label = label.rotate(degrees, expand=True, resample=Image.Resampling.BICUBIC)
    base.paste(label, ((640 - label.width) // 2, 330), label)
    if blur:
        base = base.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(base)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = parser.parse_args(argv)
    from assistant.files import photos_in
    from assistant.reading import LabelReader, open_engine

    val = Path(args.data) / "grocerystore" / "val"
    if not val.is_dir():
        print(f"bench_dates: {val}: no such folder", file=sys.stderr)
        return 1
    photos = [photos_in(d)[0] for d in sorted(val.iterdir()) if d.name.split("-")[0] in
              ("Alpro", "Arla", "Bravo", "Garant", "God", "Oatly", "Valio", "Yoggi")]
    reader = LabelReader(open_engine("auto"))
    right: dict[str, list[bool]] = {"en": [], "es": []}
    ms: list[float] = []
    cases = zip(itertools.cycle(photos), itertools.product(CONDITIONS, STICKERS))
    for photo, ((px, deg, blur), (lang, words, date)) in cases:
        t0 = time.perf_counter()
        reading = reader.read(sticker_photo(photo, words, px, deg, blur))
        ms.append((time.perf_counter() - t0) * 1000)
        ok = date in [d.date for d in reading.dates]
        right[lang].append(ok)
        if not ok:
            print(f"  missed {words!r} ({px} px, {deg} deg, blur {blur}): read {reading.lines[:4]}")
    for lang, oks in right.items():
        print(f"{lang}: {sum(oks)}/{len(oks)} dates read right ({100 * sum(oks) / len(oks):.0f}%)")
    print(f"ms per read median {statistics.median(ms):.0f} ({len(ms)} reads of 640x480 pictures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
