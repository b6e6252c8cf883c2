"""Benchmark maintainer-mode retraining: wall time to a live new model, and accuracy.

Scenarios (figures printed, and written as JSON with --json):
  one      add ONE product of --photos photos (GroceryStore train/<product>) to the model in
           use, fast mode; time from "retrain" to the new model loaded and answering ("live"):
           cold (empty feature cache), second (another product; the old products' features
           cached by the first run) and prepared (as maintainer mode does: the features are
           computed in the background while photos are added; that time is given apart).
           Accuracy on each product's GroceryStore val photos, and on the old products'
           held-out photos before and after.
  grocery  teach all 81 GroceryStore products (train/) to the model in use, measure on val/:
           the fair check (its photos were taken apart from train/'s), against the retrain's own
           held-out figure (whole bursts of the train photos) and its say band.
           --mode fast (default) or full (fine-tunes everything; long on a CPU: use nohup).

Usage:
  python main.py bench --only retrain -- one [--model FILE] [--product Banana --second Kiwi]
  python main.py bench --only retrain -- grocery --mode full --epochs 6 [--max-minutes 240]

Every run uses a fresh GROCERY_ASSISTANT_HOME (a temp folder unless --home), so caches and
model versions of the real user are never touched. The machine's load matters: say so when
you quote a figure.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

from assistant.files import is_photo

ROOT = Path(__file__).resolve().parents[2]

GROCERY = ROOT.parent / "shared" / "data" / "grocerystore"


def link_photos(src: Path, dest: Path, n: int, seed: int = 0) -> list[Path]:
    files = sorted(p for p in src.iterdir() if is_photo(p))
    if len(files) < n:
        raise SystemExit(f"{src} has {len(files)} photos, fewer than {n}")
    chosen = sorted(random.Random(seed).sample(files, n))
    dest.mkdir(parents=True, exist_ok=True)
    for f in chosen:
        (dest / f.name).symlink_to(f)
    return chosen


def accuracy(model_path: Path, folder: Path) -> dict:
    """top-1 / top-3 of a model on folder/<product>/*.jpg (product = folder name), and what it
    would say as sure there (its own calibration and say band): how many, how often right."""
    from assistant.inference.classifier import Classifier
    from assistant.inference.vision import load_image
    clf = Classifier(model_path)
    say = clf.calibration.thresholds()[0]
    truth, pictures = [], []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        for f in sorted(sub.iterdir()):
            truth.append(sub.name)
            pictures.append(load_image(f))
    top1 = top3 = sure = sure_right = 0
    for start in range(0, len(pictures), 32):
        for t, pred in zip(truth[start:start + 32], clf.predict_batch(pictures[start:start + 32], k=3), strict=True):
            labels = [c for c, _ in pred.top]
            top1 += labels[0] == t
            top3 += t in labels
            if pred.score >= say:
                sure += 1
                sure_right += labels[0] == t
    n = len(truth)
    return {"n": n, "top1": round(top1 / n, 4) if n else None, "top3": round(top3 / n, 4) if n else None,
            "say": say, "said_as_sure": round(sure / n, 4) if n else None,
            "sure_right": round(sure_right / sure, 4) if sure else None}


def unseen_photos(model_path: Path, per_class: int = 1000) -> tuple[str, list[tuple[Path, str]]]:
    """(which, [(photo, product)]): Freiburg photos the model's weights were never trained on:
    the test photos of its recorded split, else its validation photos (the bundled default is
    trained on every photo but those), else fold 0."""
    from assistant.inference.checkpoint import read_metadata
    from model.retrain.plan import split_file_of
    from model.split_file import SplitFile
    freiburg = GROCERY.parent / "freiburg" / "images"
    recorded = split_file_of(read_metadata(model_path))
    candidates = [ROOT / recorded] if recorded else []
    candidates.append(ROOT / "model" / "splits" / "freiburg-fold0.csv")
    for split in candidates:
        if not split.is_file() or not freiburg.is_dir():
            continue
        for which in ("test", "val"):
            by_class = SplitFile.read(split).by_class(which, freiburg.parent)
            if by_class:
                chosen = [(f, c) for c in sorted(by_class) for f in sorted(
                    random.Random(f"fold0:{c}").sample(by_class[c], min(per_class, len(by_class[c]))))]
                return f"{split.name}:{which}", chosen
    return "", []


def old_check(model_path: Path, photos: list[tuple[Path, str]]) -> dict:
    """On photos of the old products (never trained on): accuracy, how many of them the model
    now takes for one of the new products, and the wrong answers it would say as sure (its own
    calibration and bands, else the defaults)."""

    import torch

    from assistant.inference.architectures import head_name
    from assistant.inference.checkpoint import load_checkpoint
    from model.retrain.features import FeatureCache
    ckpt = load_checkpoint(model_path)
    photos = [(f, c) for f, c in photos if c in ckpt.class_ids]
    if not photos:
        return {}
    files = [f for f, _ in photos]
    labels = [ckpt.class_ids.index(c) for _, c in photos]
    # a mirror-averaging model answers the mean of the photo's and its mirror image's logits:
    # the head is linear, so that is the head on the mean of their features
    views = ("photo", "mirror") if ckpt.preprocessing.mirror else ("photo",)
    feats, _, _ = FeatureCache(ckpt, torch.device("cpu")).features(files, views)
    head = head_name(ckpt.architecture)
    logits = (feats.float().mean(1) @ ckpt.state_dict[f"{head}.weight"].float().T
              + ckpt.state_dict[f"{head}.bias"].float())
    pred = logits.argmax(1)
    y = torch.tensor(labels)
    old = set(labels)
    from assistant.inference.calibration import Calibration
    from model.retrain.report import sure_wrong
    cal = Calibration.from_meta(ckpt.meta)
    probs = torch.from_numpy(cal.probabilities(logits.numpy())).max(1).values
    say, maybe = cal.thresholds()
    return {"n": len(labels), "top1": round(float((pred == y).float().mean()), 4),
            "taken_for_new": round(float(torch.tensor([int(p) not in old for p in pred]).float().mean()), 4),
            "sure_wrong": int(sure_wrong(logits, y, ckpt.meta.get("calibration")).sum()),
            "said_as_sure": int((probs >= say).sum()), "silent": int((probs < maybe).sum()),
            "temperature": cal.temperature, "say": say}


def live(cfg) -> tuple[float, object, Path]:
    """retrain (and its one export, as maintainer mode) -> activate -> the app's runtime on the
    activated file, answering: (seconds, result, path)."""
    from assistant.inference.onnx_backend import open_classifier
    from assistant.maintainer.session import retrain_here
    from assistant.store.models import activate
    from model.callbacks import TerminalProgress
    bar = TerminalProgress()
    start, cpu, began = time.perf_counter(), time.process_time(), time.time()
    try:
        result = retrain_here(cfg, bar, began)
    finally:
        bar.close()
    # the first estimate (this home's recorded speed: none before its first retrain) and the truth
    result.estimate = bar.forecast.total() if bar.forecast is not None else None
    result.truth = time.time() - began
    stored = activate(result.out)
    clf = open_classifier(stored)
    clf.predict_batch([__import__("numpy").zeros((224, 224, 3), "uint8")])  # answering
    result.cpu_seconds = round(time.process_time() - cpu, 1)  # all threads: what a busy machine hides
    return time.perf_counter() - start, result, stored


def estimate_figures(result) -> dict:
    """The estimate said at the start against the retrain's true time (with its export), in
    this process (no start-up or imports: they are counted in a child's or a command's)."""
    truth, estimate = round(result.truth, 1), result.estimate
    return {"first_estimate_s": None if estimate is None else round(estimate, 1), "truth_s": truth,
            "ratio": None if estimate is None else round(estimate / truth, 2)}


def scenario_one(args, work: Path) -> dict:
    """cold: nothing cached; second: the old products' features cached by the first run;
    prepared: as in the dialog, features computed in the background while photos were added."""
    from assistant.inference.checkpoint import load_checkpoint
    from model.retrain import RetrainConfig, warm_cache
    base = Path(args.model)
    which, unseen = unseen_photos(base)
    out: dict = {"scenario": "one", "model": str(base), "photos": args.photos,
                 "base_products": len(load_checkpoint(base).class_ids), "runs": [],
                 "old_products_checked_on": which}
    current = base
    stored_models = []
    for label, product in (("cold", args.product), ("second", args.second), ("prepared", args.third)):
        pid = product.lower().replace("-", "_")
        data = work / f"data-{product}"
        link_photos(GROCERY / "train" / product, data / pid, args.photos)
        prepare = None
        if label == "prepared":
            t, cpu = time.perf_counter(), time.process_time()
            warm_cache(current, data, seed=args.seed, base_data=args.base_data)
            prepare = {"seconds": round(time.perf_counter() - t, 1),
                       "cpu_seconds": round(time.process_time() - cpu, 1)}
        cfg = RetrainConfig(data=str(data), out=str(work / f"{product}.safetensors"), mode="fast",
                            base=str(current), seed=args.seed, base_data=args.base_data)
        seconds, result, stored = live(cfg)
        val = work / f"val-{product}"
        (val / pid).mkdir(parents=True, exist_ok=True)
        for f in (GROCERY / "val" / product).iterdir():
            (val / pid / f.name).symlink_to(f)
        c = result.report.comparison
        run = {"cache": label, "product": product, "seconds_to_live": round(seconds, 1),
               "cpu_seconds": result.cpu_seconds, "load_average": os.getloadavg()[0],
               "prepared_in_background": prepare,
               "retrain_seconds": result.seconds, "val_photos": accuracy(stored, val),
               "estimate": estimate_figures(result),
               "heldout": {k: result.report.heldout.get(k) for k in ("top1", "n", "independent")},
               "new_product_heldout": result.report.heldout["per_class"].get(pid),
               "old_products": {"current": c.current_top1, "new": c.new_top1, "n": c.n,
                                "verdict": c.verdict}}
        if not stored_models:  # the retrains' own held-out photos calibrate them: not checked
            held = {str(Path(f).resolve()) for f, _ in result.report.heldout_photos}
            unseen = [(f, c) for f, c in unseen if str(Path(f).resolve()) not in held]
        stored_models.append(stored)
        out["runs"].append(run)
        print(json.dumps(run))
        current = stored
    out["old_products_before"] = old_check(base, unseen)
    for run, stored in zip(out["runs"], stored_models, strict=True):
        run["old_products_unseen"] = old_check(stored, unseen)
    return out


def iconic_folder(dest: Path) -> Path:
    """GroceryStore's train photos (links) plus each product's iconic picture (a web product
    shot, classes.csv), as a maintainer who adds such a picture to each product's folder."""
    import csv
    with (GROCERY / "classes.csv").open(newline="") as f:
        iconic = {row["Class Name (str)"]: row["Iconic Image Path (str)"] for row in csv.DictReader(f)}
    for product in sorted(d.name for d in (GROCERY / "train").iterdir() if d.is_dir()):
        folder = dest / product
        folder.mkdir(parents=True, exist_ok=True)
        for photo in (GROCERY / "train" / product).iterdir():
            (folder / photo.name).symlink_to(photo)
        picture = GROCERY / iconic[product].lstrip("/")
        if picture.is_file():
            (folder / f"iconic-{picture.name}").symlink_to(picture)
    return dest


def new_products_figure(report) -> dict:
    """The retrain's held-out top-1 on the products it was taught alone (the report's own figure:
    the old products' held-out photos are another dataset's), and which products were checked
    only on twins (not counted in it)."""
    taught = report.heldout.get("taught") or report.heldout  # --only: the headline is theirs
    return {"n": taught.get("n"), "top1": taught.get("top1"), "independent": taught.get("independent"),
            "twins": report.heldout.get("twins"), "twins_only": report.twins_only}


def scenario_grocery(args, work: Path) -> dict:
    from assistant.inference.checkpoint import load_checkpoint
    from model.retrain import RetrainConfig
    base = Path(args.model)
    data = iconic_folder(work / "teach") if args.iconic else GROCERY / "train"
    cfg = RetrainConfig(data=str(data), out=str(work / f"grocery-{args.mode}.safetensors"),
                        mode=args.mode, base=str(base), only=args.only, seed=args.seed,
                        base_data=args.base_data, per_class=args.per_class,
                        epochs=args.epochs, max_minutes=args.max_minutes, device=args.device,
                        adapt=args.adapt, upper_start=args.upper_start,
                        image_size=args.image_size, heldout=args.heldout, refit=args.refit)
    seconds, result, stored = live(cfg)
    c = result.report.comparison
    made = load_checkpoint(stored)
    out = {"scenario": "grocery", "mode": args.mode, "adapt": args.adapt, "adapted": result.adapt, "only": args.only,
           "iconic": bool(args.iconic),
           "upper_start": made.meta["retrain"].get("upper_start"),
           "kept_blocks": made.meta["retrain"].get("kept_blocks"),
           "image_size": made.preprocessing.size,
           "model": str(base), "seconds_to_live": round(seconds, 1),
           "cpu_seconds": result.cpu_seconds, "load_average": os.getloadavg()[0],
           "products": len(result.report.classes), "train_photos": result.report.train_photos,
           "heldout_share": made.meta["retrain"].get("heldout_share"),
           # the retrain's own check (whole bursts held out of the train photos) against the
           # fair one: GroceryStore's official val photos, taken apart from the train photos
           "heldout_from_train": {k: result.report.heldout.get(k) for k in
                                  ("top1", "n", "independent", "top1_low", "top1_high")},
           # the same on the 81 new products alone: what val measures
           "heldout_new_products": new_products_figure(result.report),
           "heldout_bands": result.report.bands,
           "val": accuracy(stored, GROCERY / "val"),
           "old_products": {"current": c.current_top1, "new": c.new_top1, "n": c.n, "verdict": c.verdict}}
    if args.keep:
        out["kept_model"] = str(stored)
    print(json.dumps(out))
    return out


def without_old_photos(args, work: Path, freiburg: Path) -> tuple[bool, float | None]:
    """--without-old-photos, as on a user's machine: no photo of the model's products; the
    bank shipped beside the model (shipped: True), else one built here first (its seconds)
    and its features dropped from the cache. Sets args.model and args.base_data."""
    from model.retrain.bank import beside
    if not args.without_old_photos:
        return False, None
    (work / "no-photos" / "none").mkdir(parents=True)  # a photo folder without the model's products
    shipped = not args.no_bank and beside(args.model).is_file()
    args.base_data = [str(work / "no-photos")]
    if shipped:  # the bank and the ONNX files that ship with the model
        return True, None
    import shutil
    from argparse import Namespace

    from model.models_cli import make_bank
    copy = work / "model" / Path(args.model).name
    copy.parent.mkdir(parents=True)
    shutil.copy(args.model, copy)
    t = time.perf_counter()
    if not args.no_bank:
        make_bank(Namespace(file=str(copy), data=str(freiburg)))
    args.model = str(copy)
    # the bank's features are in the cache now; a user machine would not have them
    shutil.rmtree(Path(os.environ["GROCERY_ASSISTANT_HOME"]) / "cache", ignore_errors=True)
    return False, round(time.perf_counter() - t, 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", choices=["one", "grocery"])
    p.add_argument("--model", help="starting model (default: the bundled model)")
    p.add_argument("--product", default="Banana", help="GroceryStore product taught first (cold cache)")
    p.add_argument("--second", default="Kiwi", help="product taught next (old products cached)")
    p.add_argument("--third", default="Satsumas",
                   help="product taught last, its features prepared first as the dialog does")
    p.add_argument("--photos", type=int, default=40)
    p.add_argument("--mode", choices=["fast", "full"], default="fast")
    p.add_argument("--adapt", choices=["auto", "head", "upper"], default="auto",
                   help="fast mode: retrain's --adapt (auto, its default: the upper blocks too when "
                        "many products are new)")
    p.add_argument("--upper-start", choices=["auto", "model", "imagenet"], default="auto",
                   help="grocery --adapt upper: where the upper blocks start (retrain's --upper-start)")
    p.add_argument("--image-size", type=int, help="grocery --adapt upper: the new model's input size")
    p.add_argument("--only", action="store_true", help="grocery: the new model knows just the 81")
    p.add_argument("--iconic", action="store_true",
                   help="grocery: each product's iconic picture (a web product shot) is taught too")
    p.add_argument("--heldout", type=float, metavar="SHARE",
                   help="grocery: share of the photos held out (retrain's --heldout; default: its own)")
    p.add_argument("--base-data", action="append", metavar="DIR",
                   help="photos of the products the model knows (default: the shared Freiburg "
                        "photos when here, else the folders recorded in the model)")
    p.add_argument("--per-class", type=int, help="at most N photos per known product")
    p.add_argument("--no-refit", dest="refit", action="store_false",
                   help="grocery: save the head as checked (retrain's --no-refit)")
    p.add_argument("--no-bank", action="store_true",
                   help="with --without-old-photos: no feature bank either (stand-ins only)")
    p.add_argument("--without-old-photos", action="store_true",
                   help="as on a user's machine: no photos of the model's products, only the "
                        "feature bank shipped beside it (built here first from the Freiburg "
                        "photos when the model ships none)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--max-minutes", type=float)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--home", help="GROCERY_ASSISTANT_HOME to use (default: a fresh temp folder)")
    p.add_argument("--keep", action="store_true", help="keep the work folder and the models")
    p.add_argument("--json", metavar="FILE", help="also write the figures here")
    args = p.parse_args(argv)
    if not GROCERY.is_dir():
        raise SystemExit(f"{GROCERY}: the GroceryStore photos are not here")
    work = Path(tempfile.mkdtemp(prefix="bench_retrain_"))
    os.environ["GROCERY_ASSISTANT_HOME"] = args.home or str(work / "home")
    from assistant.maintainer.job import sleeping_threads
    sleeping_threads()  # as the maintainer's child and `main.py retrain`, before torch is loaded
    freiburg = GROCERY.parent / "freiburg" / "images"
    if args.base_data is None and freiburg.is_dir():
        args.base_data = [str(freiburg)]  # holds the model's own test photos (fold 0)
    if not args.model:
        from assistant.store.models import bundled_default
        args.model = str(bundled_default())
    import torch
    shipped, bank_seconds = without_old_photos(args, work, freiburg)
    figures = scenario_one(args, work) if args.scenario == "one" else scenario_grocery(args, work)
    figures["without_old_photos"] = args.without_old_photos
    figures["bank_built_seconds"] = bank_seconds
    figures["bank"] = "shipped" if shipped else args.without_old_photos and not args.no_bank
    figures.update(machine={"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                            "cuda": torch.cuda.is_available(), "load_average": os.getloadavg()})
    print(json.dumps(figures, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    if not args.keep:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
