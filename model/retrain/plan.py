"""What a retrain learns from: the new model's products, and which photos train and check it.

The new products' photos come from the data folder. The photos of the products the model
already knows come from --base-data folders, or else from the folders recorded in the model
itself (the data it was trained or retrained on), when they are on this machine. Each product's
photos are split, seeded, into training and held-out photos: whole bursts of near-identical
shots (model.retrain.bursts), so that the check is not a twin of what was taught; the known
products' photos from the test (else validation) part of the model's recorded split.
"""
from __future__ import annotations

import datetime as _dt
import logging
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant import paths
from assistant.errors import DataError
from assistant.files import MIN_PHOTOS, PHOTO_SUFFIXES
from assistant.inference.checkpoint import Checkpoint
from assistant.inference.vision import single_picture
from model.data import scan_folder
from model.names import read_names
from model.retrain.bursts import centred, hold_out
from model.retrain.features import VIEWS
from model.split_file import SplitFile

if TYPE_CHECKING:  # core imports this module
    from model.retrain.config import RetrainConfig

log = logging.getLogger(__name__)

#: share of each product's photos held out to check and calibrate the new model ...
HELDOUT_SHARE = 0.2
#: ... until the new products' held-out photos number about this many: enough to measure top-1
#: within about 2.5 points and to fit the calibration. A bigger teaching set trains on the rest
#: (81 GroceryStore products: 300 of 2,640 photos held out instead of 529).
HELDOUT_ENOUGH = 300


def heldout_share(n_photos: int, share: float | None = None) -> float:
    """The share of the new products' photos to hold out: `share` when given, else 20% of a small
    teaching set and about HELDOUT_ENOUGH photos of a big one."""
    if share is not None:
        return share
    return min(HELDOUT_SHARE, HELDOUT_ENOUGH / n_photos) if n_photos > 0 else HELDOUT_SHARE


@dataclass
class Plan:
    classes: list[str]                    # the new model's products, in head order
    names: dict[str, dict[str, str]]      # spoken names of each
    base_rows: dict[str, int]             # product -> row of the current model's head
    new: list[str]                        # products the current model does not know
    replaced: list[str]                   # known products whose photos come from the data folder
    train: list[tuple[Path, int]]         # (photo, label)
    heldout: list[tuple[Path, int]]
    sources: list[str]                    # folders of photos the new model learnt from
    old_photos: bool                      # whether photos of the old products were found
    missing_old: list[str] = field(default_factory=list)  # old products without any photo here
    old_heldout_unseen: bool = True       # old products' held-out photos are from its test split
    heldout_share: float = HELDOUT_SHARE  # share of the new products' photos held out
    #: products all of whose photos are one burst: checked on twins of their training photos
    twins_only: list[str] = field(default_factory=list)

    def spoken(self, language: str = "en") -> list[str]:
        return [self.names.get(c, {}).get(language) or c.replace("_", " ") for c in self.classes]


def recorded_sources(meta: dict) -> list[Path]:
    """The photo folders a model was trained on, as recorded in it, that exist here."""
    found = list(meta.get("retrain", {}).get("sources") or [])
    data = meta.get("training", {}).get("config", {}).get("data")
    if data:
        found.append(data)
    root = paths.ROOT
    out = []
    for entry in found:
        for cand in (Path(entry), root / entry, paths.data_dir() / entry):
            if cand.is_dir() and cand.resolve() not in out:
                out.append(cand.resolve())
                break
    return out


def split_file_of(meta: dict) -> str | None:
    """The split file behind a model: its own training's, or the one its base inherited."""
    return (meta.get("retrain", {}).get("split_file")
            or meta.get("training", {}).get("config", {}).get("split_file"))


def recorded_split(meta: dict) -> dict[tuple[str, str], str]:
    """{(product folder, file name): "train" | "val" | "test"} from the split file the model
    was trained with, when it is recorded and present here; {} otherwise. Keyed by the last two
    parts of each path, so the marks still apply when the photos live in another folder."""
    name = split_file_of(meta)
    if not name:
        return {}
    root = paths.ROOT
    split_file = next((c for c in (Path(name), root / name) if c.is_file()), None)
    if split_file is None:
        return {}
    try:
        return SplitFile.read(split_file).by_name()
    except DataError as exc:
        log.warning("%s", exc)
        return {}


def photos_by_class(folder: Path) -> dict[str, list[Path]]:
    _, samples = scan_folder(folder)
    out: dict[str, list[Path]] = {}
    for file, cid in samples:
        if file.suffix.lower() in PHOTO_SUFFIXES:
            out.setdefault(cid, []).append(file)
        else:
            out.setdefault(cid, [])
    return out


#: features(files, views) -> N x D: the pooled features bursts are found in (None: capture
#: order only)
Features = Callable[[list[Path], tuple[str, ...]], np.ndarray]


def split(files: list[Path], fraction: float, rng: random.Random,
          feats: np.ndarray | None = None) -> tuple[list[Path], list[Path], bool]:
    """(train, held out, apart): about a fraction held out in whole bursts (bursts.hold_out),
    at least one photo when there are four or more; feats: a row per file, as files are ordered."""
    order = sorted(range(len(files)), key=lambda i: files[i])
    rows = None if feats is None else np.asarray(feats)[order]
    return hold_out([files[i] for i in order], fraction, rng, rows)


def burst_split(by_product: dict[str, list[Path]], fraction: float, seed: int,
                features: Features | None, views: tuple[str, ...] = ("photo",)
                ) -> dict[str, tuple[list[Path], list[Path], bool]]:
    """split() of each product's photos (seeded by the seed and its id alone), the features of
    all of them computed in one call and centred on their mean: what sets one burst apart from
    another, not what every photo shares (a photo's features all point much the same way)."""
    every = [f for cid in sorted(by_product) for f in by_product[cid]]
    feats = centred(features(every, views)) if features is not None and every else None
    out, start = {}, 0
    for cid in sorted(by_product):
        n = len(by_product[cid])
        out[cid] = split(by_product[cid], fraction, random.Random(f"{seed}:{cid}"),
                         None if feats is None else feats[start:start + n])
        start += n
    return out


@dataclass
class OldPhotos:
    train: list[tuple[Path, str]]
    heldout: list[tuple[Path, str]]
    found: dict[str, list[Path]]
    folders: list[str]
    unseen: bool
    twins_only: list[str] = field(default_factory=list)  # see Plan.twins_only


def old_product_photos(base: Checkpoint, needed: list[str], base_data: list[str] | None,
                       per_class: int, heldout: float | None, seed: int,
                       skip: Path | None = None, features: Features | None = None) -> OldPhotos:
    """Photos of products the model knows, split into training and held-out photos (a share
    heldout of each, HELDOUT_SHARE when None). Each product's draw depends only on the seed and
    its id, so the same photos come back whatever is being added (and their cached features are
    found again)."""
    heldout = HELDOUT_SHARE if heldout is None else heldout
    folders = [Path(d) for d in base_data] if base_data else recorded_sources(base.meta)
    for folder in folders:
        if not folder.is_dir():
            raise DataError(f"{folder}: no such folder (photos of the products the model knows)")
    found: dict[str, list[Path]] = {}
    used = []
    for folder in folders:
        if skip is not None and folder.resolve() == Path(skip).resolve():
            continue
        by_class = photos_by_class(folder)
        hits = [c for c in needed if by_class.get(c)]
        if hits:
            used.append(str(folder.resolve()))
        for c in hits:
            found.setdefault(c, []).extend(by_class[c])
    marks = recorded_split(base.meta) if found else {}
    unseen = True
    train, held = [], []
    unmarked: dict[str, list[Path]] = {}
    for cid in needed:
        rng = random.Random(f"{seed}:{cid}")
        files = sorted(found.get(cid, []))
        mark = {f: marks.get((f.parent.name, f.name)) for f in files} if marks else {}
        # held out from the model's own test photos, else from its validation photos (a model
        # trained on every photo but those, like the bundled default): never trained on. A random
        # draw would mostly hold out photos the model was trained on, always named right and
        # sure, and the recalibration would then make every answer "sure" (seen: temperature
        # 0.06 instead of 0.68 after adding one product to the default).
        tests = [f for f in files if mark.get(f) == "test"]
        kept_for = ("train", "val")
        if not tests:
            tests = [f for f in files if mark.get(f) == "val"]
            kept_for = ("train",)
        if tests:
            t = [f for f in files if mark.get(f) in kept_for]
            h = tests
            if per_class:
                n_held = max(1, round(per_class * heldout))
                t = sorted(rng.sample(t, min(len(t), per_class - n_held)))
                h = sorted(rng.sample(h, min(len(h), n_held)))
        else:  # split below, all together: their bursts are found in features centred on all
            unseen = unseen and not files
            if per_class and len(files) > per_class:
                files = sorted(rng.sample(files, per_class))
            unmarked[cid] = files
            continue
        train += [(f, cid) for f in t]
        held += [(f, cid) for f in h]
    twins = []
    for cid, (t, h, apart) in burst_split(unmarked, heldout, seed, features).items():
        train += [(f, cid) for f in t]
        held += [(f, cid) for f in h]
        twins += [] if apart else [cid]
    return OldPhotos(train, held, found, used, unseen, twins)


def make_plan(data: str | Path, base: Checkpoint, only: bool = False,
              base_data: list[str] | None = None, per_class: int = 0,
              heldout: float | None = None, seed: int = 0, names_file: str | None = None,
              features: Features | None = None) -> Plan:
    """heldout: share of each product's photos held out (None: see heldout_share); features:
    what finds near-twins among the photos (bursts.pooled_features; None: capture order only)."""
    data = Path(data)
    new_photos = photos_by_class(data)
    few = [f"{c} ({len(f)} photos)" for c, f in sorted(new_photos.items()) if len(f) < MIN_PHOTOS]
    if few:
        raise DataError(f"too few photos (at least {MIN_PHOTOS} needed) for: {', '.join(few)}",
                        message_id="err_too_few_photos", n=MIN_PHOTOS, products=", ".join(few))
    base_ids = base.class_ids
    names = {c: dict(base.meta["classes"][i]["names"]) for i, c in enumerate(base_ids)}
    names.update(read_names(names_file, str(data)))
    if only:
        classes = sorted(new_photos)
        if len(classes) < 2:
            raise DataError(f"{data}: with --only the model needs at least two products")
    else:
        classes = base_ids + [c for c in sorted(new_photos) if c not in base_ids]
    index = {c: i for i, c in enumerate(classes)}
    train, held = [], []
    share = heldout_share(sum(len(f) for f in new_photos.values()), heldout)
    twins = []
    for cid, (t, h, apart) in burst_split(new_photos, share, seed, features, VIEWS).items():
        train += [(f, index[cid]) for f in t]
        held += [(f, index[cid]) for f in h]
        twins += [] if apart else [cid]
    old_needed = [] if only else [c for c in base_ids if c not in new_photos]
    old = old_product_photos(base, old_needed, base_data, per_class, heldout, seed, skip=data,
                             features=features)
    train += [(f, index[cid]) for f, cid in old.train]
    held += [(f, index[cid]) for f, cid in old.heldout]
    found, used, unseen = old.found, old.folders, old.unseen
    missing = [c for c in old_needed if not found.get(c)]
    if found and missing:
        log.warning("no photos here of %s; their rows stay as they were", ", ".join(missing))
    return Plan(classes, {c: names[c] for c in classes if c in names},
                {c: i for i, c in enumerate(base_ids)},
                [c for c in sorted(new_photos) if c not in base_ids],
                [c for c in sorted(new_photos) if c in base_ids and not only],
                train, held, used + [str(data.resolve())], bool(found), missing, unseen,
                round(share, 4), twins + old.twins_only)


def taught_rows(plan: Plan, only: bool, classes: list[str] | None = None) -> set[int]:
    """The rows (in `classes`' order, the plan's by default) of the products whose photos this
    retrain was given: their held-out photos are bursts of those photos."""
    classes = plan.classes if classes is None else classes
    if only:
        return set(range(len(classes)))
    return {classes.index(c) for c in plan.new + plan.replaced}


def new_metadata(base, plan, cfg: RetrainConfig, report, extra: dict | None = None) -> dict:
    """The new checkpoint's metadata: products, names, held-out metrics and how it was made."""
    from assistant.inference.checkpoint import make_classes
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    metrics = {k: v for k, v in report.heldout.items() if k not in ("confusion", "counts")}
    meta = {"architecture": base.architecture,
            "classes": make_classes(plan.classes, plan.names),
            # single pictures: the retrain's figures and calibration are measured so
            "preprocessing": single_picture(base.meta["preprocessing"]),
            "metrics": {"heldout": metrics},
            "version": f"{cfg.mode} retrain {stamp}",
            "retrain": {"mode": cfg.mode, "adapt": cfg.adapt if cfg.mode == "fast" else "all",
                        "base": str(base.path), "base_version": base.version, "new": plan.new,
                        "replaced": plan.replaced, "only": cfg.only, "sources": plan.sources,
                        "train_photos": len(plan.train), "heldout_photos": len(plan.heldout),
                        "heldout_share": plan.heldout_share, "twins_only": plan.twins_only,
                        # the old products' test photos stay held out in the next retrain too
                        "split_file": split_file_of(base.meta),
                        "comparison": asdict(report.comparison), "command": cfg.command}}
    meta["retrain"].update(extra or {})
    if cfg.label_words > 0:  # the words printed on each product's packs
        from model.retrain.labels import learn_label_words
        meta["label_words"] = learn_label_words(base, plan, cfg.label_words)
    elif base.meta.get("label_words"):
        meta["label_words"] = {pid: ws for pid, ws in base.meta["label_words"].items()
                               if pid in plan.classes and pid not in plan.new + plan.replaced}
    return meta
