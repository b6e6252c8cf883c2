"""Teach the model in use new products: `python main.py retrain --data DIR --out FILE`.

Starts from the active model and adds (or replaces) the products found in DIR; with --only the
new model knows just DIR's products. fast mode fits the head on cached features of the frozen
network (a new product in well under a minute on a laptop CPU); with --adapt upper it also
fine-tunes the upper half of the network on cached views of each photo (minutes).
full mode fine-tunes the whole network through model.train (CUDA when available). Both report
progress through a TrainCallback and stop cleanly when it says cancelled(); nothing is written
in place of the model in use until the new one is complete, checked, and activated.
"""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from model.retrain.config import RetrainConfig, RetrainResult

log = logging.getLogger(__name__)
#: exit status when --activate was refused because the new model is worse (see --yes)
REFUSED = 3


def check_inputs(cfg: RetrainConfig) -> None:
    """The folders and the starting model named exist, checked before torch is imported: a
    mistyped path is answered in a moment, not after seconds of start-up (DataError)."""
    from assistant.errors import DataError
    for folder in [cfg.data, *cfg.base_data]:
        if not Path(folder).is_dir():
            raise DataError(f"{folder}: no such folder", message_id="err_no_folder", folder=str(folder))
    if cfg.base and not Path(cfg.base).is_file():
        raise DataError(f"{cfg.base}: no such model file")


def retrain(cfg: RetrainConfig, callback=None, began: float | None = None) -> RetrainResult:
    """Build the new model into cfg.out (atomically) and its report into <out>.report/.
    began: time.time() when the work began, for the callback's forecast (default: now)."""
    from assistant.inference.checkpoint import load_checkpoint
    from assistant.store.models import active_model_path, remove_stale_temp
    from model.callbacks import TrainCallback
    from model.retrain.features import Cancelled
    from model.retrain.plan import make_plan

    cb = callback or TrainCallback()
    started = time.monotonic()
    began = time.time() if began is None else began
    if cfg.mode not in ("fast", "full"):
        raise ValueError(f"--mode must be fast or full, not {cfg.mode!r}")
    if not cfg.out:
        raise ValueError("say where to write the new model (--out FILE)")
    out = Path(cfg.out)
    remove_stale_temp(out.parent if out.parent.is_dir() else Path("."))
    base_path = Path(cfg.base) if cfg.base else active_model_path()
    base = load_checkpoint(base_path)
    per_class = cfg.per_class if cfg.per_class is not None else (24 if cfg.mode == "fast" else 0)
    cfg = choose_adapt(cfg, base, cb)
    try:
        features_of = base  # whose features the bursts are found in and a head-only fit reads
        if cfg.mode == "fast" and cfg.adapt == "head" and cfg.only and cfg.upper_start == "imagenet":
            # asked for by name (imagenet.features_checkpoint), chosen on a draft of the plan
            from model.retrain.imagenet import features_checkpoint
            features_of = features_checkpoint(cfg, base, make_plan(
                cfg.data, base, cfg.only, cfg.base_data, per_class, cfg.heldout, cfg.seed, cfg.names), cb)
        cache = forecast(cfg, base, base_path, cb, began, per_class, features_of)
        plan_features = burst_features(cfg, features_of, cb, cache)
        plan = make_plan(cfg.data, base, cfg.only, cfg.base_data, per_class, cfg.heldout, cfg.seed,
                         cfg.names, plan_features)
    except Cancelled:
        cb.note("retrain_cancelled")
        return RetrainResult(None, None, True, time.monotonic() - started)
    cb.note("retrain_starting", base=base_path.name, n=len(plan.classes), new=len(plan.new),
            replaced=len(plan.replaced), train=len(plan.train), heldout=len(plan.heldout))
    say_forecast(cb)
    if plan_features is not None and plan_features.batches_read:  # the bursts' features
        cb.note("retrain_reading", n=plan_features.batches_read * 32)
    if cfg.image_size and (cfg.mode != "fast" or cfg.adapt != "upper"):
        raise ValueError("--image-size is for fast mode with --adapt upper (the head alone "
                         "learns from the features at the model's own size)")
    if cfg.mode == "fast" and cfg.adapt == "upper":
        base = cache.ckpt  # at the size the forecast chose (upper.upper_cache)
    if cfg.mode == "full" and not cfg.only and plan.missing_old:
        from assistant.errors import DataError
        raise DataError(
            "full mode retrains the whole network, so it needs photos of every product the model "
            f"knows; none found for: {', '.join(plan.missing_old[:8])}"
            f"{' ...' if len(plan.missing_old) > 8 else ''}. Give --base-data DIR, use --only, "
            "or use fast mode")
    try:
        if cfg.mode == "fast":
            from model.retrain.fast import run_fast
            report = run_fast(cfg, base, plan, cb, features_of, cache)
        else:
            from model.retrain.full import run_full
            report = run_full(cfg, base, plan, cb)
    except Cancelled:
        cb.note("retrain_cancelled")
        return RetrainResult(None, None, True, time.monotonic() - started)
    if report is None:
        return RetrainResult(None, None, True, time.monotonic() - started)
    # its ONNX file and its precision are made once by whoever runs the retrain
    # (assistant.maintainer.session.prepare), from the photos it learnt from and was judged on
    photos = ([f for f, _ in plan.train], [(f, plan.classes[y]) for f, y in plan.heldout])
    report.seconds = round(time.monotonic() - started, 1)
    return RetrainResult(out, report, False, report.seconds, photos, cfg.adapt)


def choose_adapt(cfg: RetrainConfig, base, cb) -> RetrainConfig:
    """`--adapt auto` (the default) made head or upper (adapts_upper), said when upper."""
    from dataclasses import replace
    if cfg.adapt != "auto":
        return cfg
    upper, new = adapts_upper(cfg, base)
    if upper:
        cb.note("retrain_adapt_auto", n=new)
    return replace(cfg, adapt="upper" if upper else "head")


def adapts_upper(cfg: RetrainConfig, base) -> tuple[bool, int]:
    """(whether `--adapt auto` adapts the upper blocks too, how many products are new): in fast
    mode, when at least MANY_NEW of the new model's products are new and most of them are
    (config.mostly_new), and photos of every product it keeps are here (adapting changes the
    network). Maintainer mode's box starts as this says (warm_cache tells it)."""
    from model.retrain.config import MANY_NEW, mostly_new
    from model.retrain.plan import old_product_photos, photos_by_class
    library = set(photos_by_class(Path(cfg.data))) if cfg.data and Path(cfg.data).is_dir() else set()
    kept = [] if cfg.only else [c for c in base.class_ids if c not in library]
    new = len(library) if cfg.only else len(library - set(base.class_ids))
    upper = cfg.mode == "fast" and new >= MANY_NEW and mostly_new(new, len(library) + len(kept))
    if upper and kept:
        try:
            found = old_product_photos(base, kept, cfg.base_data, 1, cfg.heldout, cfg.seed, skip=cfg.data).found
        except (OSError, ValueError) as exc:
            log.info("the head alone: no photos of the kept products (%s)", exc)
            found = {}
        upper = all(found.get(c) for c in kept)
    return upper, new


def forecast(cfg: RetrainConfig, base, base_path: Path, cb, began: float, per_class: int, features_of=None):
    """Tell the callback how long this retrain will take on this computer (its recorded speed
    times the photo views not cached yet: assistant.store.timings). Returns the feature cache
    it counted in (the pooled features', or with `--adapt upper` the lower blocks' at the size it
    reads; None in full mode), for the retrain to use; features_of: the network a head-only fit
    reads (default: base's)."""
    from assistant.store import timings
    from model.retrain.features import FeatureCache
    from model.train import pick_device
    reads = fast_reads(base, cfg.data, cfg.base_data, per_class, cfg.heldout, cfg.seed,
                       known=not cfg.only)
    photos = sum(len(files) for files, _ in reads)
    cache = None
    if cfg.mode == "full":
        job = timings.Job("full", photos=photos, epochs=cfg.epochs or 0)
    elif cfg.adapt == "upper":
        from model.retrain.upper import upper_cache, upper_cold
        files = [f for fs, _ in reads for f in fs]
        cache = upper_cache(base, files, pick_device(cfg.device), cfg.image_size)
        job = timings.Job("upper", cold=upper_cold(cache, files), photos=photos, epochs=cfg.epochs or 0)
    else:
        cache = FeatureCache(features_of or base, pick_device(cfg.device))
        job = timings.Job("fast", cold=sum(cache.missing(f, v) * len(v) for f, v in reads),
                          photos=photos)
    cb.on_forecast(timings.Forecast(timings.speed(timings.model_key(base_path)), job, began))
    return cache


def say_forecast(cb) -> None:
    """The estimate given at the start, in a sentence: "about 40 s on this computer"."""
    if cb.forecast is None:
        return
    seconds = cb.forecast.total()
    if seconds is None:
        cb.note("retrain_untimed")
    else:
        from assistant.catalog import duration
        cb.note("retrain_estimate", t=duration(seconds, cb.language))


def fast_reads(base, data, base_data, per_class: int, heldout, seed: int, known: bool = True
               ) -> list[tuple[list[Path], tuple[str, ...]]]:
    """The photos a fast retrain from data reads through the network, with their views: data's
    photos as the photo and its mirror image; the known products' photos found here (known) as
    they are."""
    from model.retrain.features import VIEWS
    from model.retrain.plan import old_product_photos, photos_by_class
    new: list[Path] = []
    if data is not None and Path(data).is_dir():
        new = [f for files in photos_by_class(Path(data)).values() for f in files]
    old = old_product_photos(base, base.class_ids, base_data, per_class, heldout, seed,
                             skip=data) if known else None
    return [(new, VIEWS), ([f for f, _ in old.train + old.heldout] if old else [], ("photo",))]


def burst_features(cfg: RetrainConfig, base, cb, cache=None):
    """What make_plan finds the bursts in: the pooled features of the new photos under the
    model in use, computed here first (with progress; cached in the views the fit reads, so
    nothing is computed twice: the photo and its mirror image for the head, the photo alone
    for `--adapt upper`, which learns from the lower blocks' maps at its own size). Until
    2026-12-07 `--adapt upper` found its bursts in capture order alone, and its report said
    99% for the 81 GroceryStore products where their val photos give 87% (docs/retraining.md)."""
    from model.retrain.bursts import pooled_features
    from model.retrain.features import VIEWS
    from model.retrain.plan import photos_by_class
    from model.train import pick_device
    upper = cfg.mode == "fast" and cfg.adapt == "upper"
    views = ("photo",) if upper else VIEWS
    files = [f for fs in photos_by_class(Path(cfg.data)).values() for f in fs] \
        if Path(cfg.data).is_dir() else []
    total, done = 0, [0]

    def step() -> None:
        done[0] += 1
        features.batches_read = done[0]
        cb.on_step(0, min(done[0], total), total, 0.0)

    features = pooled_features(base, pick_device(cfg.device), step, cb.cancelled,
                               None if upper else cache, views if upper else None)
    features.batches_read = 0  # batches of photos computed (the plan's sentence tells them)
    total = features.cache.batches_needed(files, views)
    if total:  # no sentence: the first one says what the retrain starts from (the plan's)
        cb.on_start(1, total)
        features(files, views)
    return features


def warm_cache(base_path: str | Path | None = None, data: str | Path | None = None,
               per_class: int = 24, heldout: float | None = None, seed: int = 0, device: str = "auto",
               cancelled=None, base_data: list[str] | None = None, counted=None, only: bool = False) -> int:
    """Compute (and cache) the features a fast retrain from data will need, ahead of it: the
    photos of the products the model already knows, and data's photos (and mirror images);
    only: for a model of data's products alone (the known products' photos are not read).
    Maintainer mode does this while the user adds photos. counted(cold=views, photos=n) is
    told what is left to read before it is read, then counted(cold_upper=views, upper=bool): what
    `--adapt upper` would read (not read here) and whether `--adapt auto` would adapt the upper
    blocks (adapts_upper). Returns how many photos it read; -1 when
    cancelled() said stop (what was done stays cached)."""
    from assistant.inference.checkpoint import load_checkpoint
    from assistant.store.models import active_model_path
    from model.retrain.features import Cancelled, FeatureCache
    from model.train import pick_device
    base = load_checkpoint(base_path or active_model_path())
    jobs = fast_reads(base, data, base_data, per_class, heldout, seed, known=not only)
    cache = FeatureCache(base, pick_device(device))
    if counted is not None:
        from model.retrain.upper import upper_cache, upper_cold
        counted(cold=sum(cache.missing(f, v) * len(v) for f, v in jobs), photos=sum(len(f) for f, _ in jobs))
        files = [f for fs, _ in jobs for f in fs]
        upper, _ = adapts_upper(RetrainConfig(data=str(data or ""), only=only, base_data=list(base_data or []),
                                              heldout=heldout, seed=seed), base)
        counted(cold_upper=upper_cold(upper_cache(base, files, cache.device), files), upper=upper)
    done = 0
    try:
        for files, views in jobs:
            if files:
                done += cache.batches_needed(files, views) * 32
                cache.features(files, views, cancelled=cancelled)
    except Cancelled:
        return -1
    return done


# --- command line ------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, metavar="DIR",
                   help="one sub-folder of photos per product to add or replace (the maintainer's "
                        "library is such a folder)")
    p.add_argument("--out", required=True, metavar="FILE", help="the new model (.safetensors)")
    p.add_argument("--mode", choices=["fast", "full"], default="fast",
                   help="fast: adapt the head on cached features (seconds to a minute on a CPU); "
                        "full: fine-tune the whole network (CUDA when available)")
    p.add_argument("--only", action="store_true",
                   help="the new model knows just DIR's products (not those of the model in use)")
    p.add_argument("--activate", action="store_true",
                   help="make the new model the app's model (refused if it is worse, unless --yes)")
    p.add_argument("--yes", action="store_true",
                   help="with --activate: activate even a model that tests worse than the current one")
    p.add_argument("--base", metavar="FILE", help="start from this model instead of the active one")
    p.add_argument("--base-data", action="append", metavar="DIR",
                   help="photos of the products the model already knows, one sub-folder each "
                        "(default: the folders recorded in the model, when present here)")
    p.add_argument("--per-class", type=int, metavar="N",
                   help="use at most N photos of each already-known product (fast: 24, full: all)")
    p.add_argument("--adapt", choices=["auto", "head", "upper"], default="auto",
                   help="fast mode: fit only the head (seconds), or the upper half of the network "
                        "too, on three cached views of each photo (minutes; far better when many "
                        "products are new); auto: the upper blocks when 10 or more products are "
                        "new and most of the new model's are, else the head")
    p.add_argument("--upper-start", choices=["auto", "model", "imagenet"], default="auto",
                   help="--adapt upper: start the upper blocks from the model's own weights or from "
                        "ImageNet's (auto: ImageNet's when most of the new model's products are new "
                        "to it, and the weights are installed); with --only and the head alone, "
                        "imagenet makes the head read ImageNet's upper blocks (more often right for "
                        "many new products, but its own check is too optimistic: docs/retraining.md)")
    p.add_argument("--image-size", type=int, metavar="PX",
                   help="--adapt upper: the new model's input size (default: the photos' own, up "
                        "to 300 px, never below the model's: more of their detail)")
    p.add_argument("--epochs", type=int, help="passes over the photos (full mode: 8; fast mode with "
                                              "--adapt upper: 5, then 1 with the held-out photos)")
    p.add_argument("--lr", type=float, help="full mode: peak learning rate (default 3e-4)")
    p.add_argument("--max-minutes", type=float, help="full mode: stop after this long (keeps the best epoch)")
    p.add_argument("--heldout", type=float, metavar="SHARE",
                   help="share of each new product's photos held out to check and calibrate the new "
                        "model (default: 0.2, less for a big teaching set: about 300 photos in all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out split")
    p.add_argument("--names", metavar="CSV", help="spoken names: columns class,english,spanish "
                                                  "(default: classes.csv in DIR)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--no-refit", dest="refit", action="store_false",
                   help="fast mode, head only: save the head as checked, without learning from the "
                        "held-out photos afterwards (the default learns them: docs/honest-check.md)")
    p.add_argument("--label-words", type=int, default=0, metavar="N",
                   help="read N teaching photos of each product and keep the words that tell it "
                        "from the others with the model: the read key then names the exact "
                        "product (a second or two a photo; default: none)")
