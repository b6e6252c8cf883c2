"""Rebuild assets/demo/: a few GroceryStore photos (MIT licence) the app plays with no webcam.

The GroceryStore set (Klasson et al., WACV 2019) is photographed in Swedish supermarkets;
its juice and milk cartons are products the bundled Freiburg model knows (Freiburg
classes "juice" and "milk"; oat and soy drinks count as milk for a shopper). The demo
alternates juice and milk, so each photo is announced in turn.

    python scripts/make_demo.py                       # the photos listed in BRANDS
    python scripts/make_demo.py --model model/bundled/X.safetensors
                                                      # the photo the model names best

The licence travels with the pictures (assets/demo/LICENSE, ATTRIBUTION.md).
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "grocerystore"
DEFAULT_OUT = ROOT / "assets" / "demo"
MAX_BYTES = 2_000_000

# (GroceryStore fine class, the Freiburg product id it shows, the photo used by default);
# juice and milk alternate. The default photos are those the bundled EfficientNet-Lite0
# (Freiburg, 86.6% held-out) names best (`--model` redoes that choice for another model):
# p(juice) 0.73-0.97, p(milk) 0.48-0.79. Swedish milk cartons are far from Freiburg's
# milk photos, so the soy milk comes out at 0.48 and may be said as "not sure, maybe milk"
# on some frames: the demo shows that band too.
BRANDS: list[tuple[str, str, str]] = [
    ("Bravo-Orange-Juice", "juice", "train/Bravo-Orange-Juice/Bravo-Orange-Juice_028.jpg"),
    ("Alpro-Fresh-Soy-Milk", "milk", "train/Alpro-Fresh-Soy-Milk/Alpro-Fresh-Soy-Milk_025.jpg"),
    ("Tropicana-Apple-Juice", "juice", "train/Tropicana-Apple-Juice/Tropicana-Apple-Juice_030.jpg"),
    ("Arla-Sour-Milk", "milk", "train/Arla-Sour-Milk/Arla-Sour-Milk_013.jpg"),
    ("God-Morgon-Orange-Red-Grapefruit-Juice", "juice",
     "train/God-Morgon-Orange-Red-Grapefruit-Juice/God-Morgon-Orange-Red-Grapefruit-Juice_005.jpg"),
    ("Alpro-Shelf-Soy-Milk", "milk", "train/Alpro-Shelf-Soy-Milk/Alpro-Shelf-Soy-Milk_013.jpg"),
    ("Tropicana-Mandarin-Morning", "juice",
     "train/Tropicana-Mandarin-Morning/Tropicana-Mandarin-Morning_007.jpg"),
    ("Arla-Lactose-Medium-Fat-Milk", "milk",
     "train/Arla-Lactose-Medium-Fat-Milk/Arla-Lactose-Medium-Fat-Milk_016.jpg"),
]

ATTRIBUTION = """# Demo pictures: attribution

The pictures in this folder are photos from the **Grocery Store Dataset**:

> M. Klasson, C. Zhang, H. Kjellström, "A Hierarchical Grocery Store Image Dataset with
> Visual and Semantic Labels", IEEE Winter Conference on Applications of Computer Vision
> (WACV), 2019. https://github.com/marcusklasson/GroceryStoreDataset

Copyright (c) 2019 Marcus Klasson, published under the MIT licence (copy in `LICENSE`).
They were re-encoded as JPEG (quality {quality}) by `scripts/make_demo.py`; `demo.json`
names the original file of each picture and the product the assistant should say.

| picture | product | original |
|---|---|---|
{rows}
"""


def candidates(data: Path, brand: str) -> list[Path]:
    photos: list[Path] = []
    for split in ("val", "train"):
        photos += sorted((data / split / brand).glob("*.jpg"))
    return photos


def pick(photos: list[Path], class_id: str, classifier, preferred: Path) -> Path:
    """The preferred photo (else the first), or (with a model) the one it names class_id
    with most confidence."""
    if classifier is None or class_id not in classifier.class_ids:
        return preferred if preferred in photos else photos[0]
    from assistant.inference.vision import load_image
    index = classifier.class_ids.index(class_id)
    best, best_p = photos[0], -1.0
    for start in range(0, len(photos), 16):
        chunk = photos[start:start + 16]
        import torch
        probs = torch.softmax(classifier.logits(classifier.preprocessing.batch(
            [load_image(p) for p in chunk])), dim=1)[:, index]
        for path, p in zip(chunk, probs.tolist(), strict=True):
            if p > best_p:
                best, best_p = path, p
    print(f"  {best.name}: p({class_id}) = {best_p:.2f}")
    return best


def build(data: Path, out: Path, model: Path | None, quality: int) -> list[dict]:
    from PIL import Image
    if not (data / "LICENSE").is_file():
        raise SystemExit(f"{data}: not the GroceryStore data set (no LICENSE file)")
    classifier = None
    if model is not None:
        from assistant.inference.classifier import Classifier
        classifier = Classifier(model, device="cpu")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.jpg"):
        old.unlink()
    entries, rows = [], []
    for n, (brand, class_id, preferred) in enumerate(BRANDS, 1):
        photos = candidates(data, brand)
        if not photos:
            raise SystemExit(f"{data}: no photos of {brand}")
        source = pick(photos, class_id, classifier, data / preferred)
        name = f"{n:02d}_{class_id}_{brand.lower()}.jpg"
        with Image.open(source) as img:
            img.convert("RGB").save(out / name, quality=quality, optimize=True)
        original = str(source.relative_to(data))
        entries.append({"file": name, "class": class_id, "brand": brand, "source": original})
        rows.append(f"| {name} | {class_id} | {original} |")
    (out / "demo.json").write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    shutil.copyfile(data / "LICENSE", out / "LICENSE")
    (out / "ATTRIBUTION.md").write_text(ATTRIBUTION.format(quality=quality, rows="\n".join(rows)),
                                        encoding="utf-8")
    total = sum(p.stat().st_size for p in out.iterdir())
    if total > MAX_BYTES:
        raise SystemExit(f"{out}: {total} bytes, over the {MAX_BYTES} limit; lower --quality")
    print(f"{out}: {len(entries)} pictures, {total / 1000:.0f} kB")
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="GroceryStore folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="demo folder to write")
    parser.add_argument("--model", type=Path, help="pick the photos this model names best")
    parser.add_argument("--quality", type=int, default=85, help="JPEG quality")
    args = parser.parse_args(argv)
    build(args.data, args.out, args.model, args.quality)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
