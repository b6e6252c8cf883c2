"""Full mode: fine-tune the whole network, starting from the model in use, through model.train.

The plan's photos are linked into one folder-per-product tree (symlinks in the cache, so no
photo is copied) with a classes.csv of spoken names and a split file that holds out exactly
the plan's held-out photos. The head is first fitted alone on frozen features (fast mode), then
model.train fine-tunes every weight from there (CUDA when available) with the same callback.
Both models are then measured on the held-out photos. A run killed halfway goes on from its last
finished epoch when the same command (the same --out) is given again: model.train's resume state
lies beside --out, and the work folder is laid out the same way each time.
"""
from __future__ import annotations

import csv
import hashlib
import os
import random
import shutil
from dataclasses import replace
from pathlib import Path

import torch

from assistant import paths
from assistant.catalog.languages import LANGUAGES
from assistant.inference.architectures import head_name
from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
from model.callbacks import TrainCallback
from model.retrain.features import FeatureCache
from model.retrain.plan import taught_rows
from model.retrain.report import (
    RetrainReport,
    compare,
    independent_photos,
    make_lookalikes,
    measured,
    write,
)
from model.split_file import SplitFile
from model.state import resume_path
from model.train import pick_device, train

DEFAULT_EPOCHS = 8
DEFAULT_LR = 3e-4


def link_tree(plan, folder: Path, seed: int) -> Path:
    """data/<product>/<n>-<name> symlinks, classes.csv and split.csv (train/val/test)."""
    data = folder / "data"
    rows = []
    rng = random.Random(seed)
    by_class: dict[int, list[Path]] = {}
    for f, y in plan.train:
        by_class.setdefault(y, []).append(f)
    val = set()
    for files in by_class.values():
        if len(files) >= 4:  # a few photos choose the best epoch; the rest train
            val.update(rng.sample(files, max(1, len(files) // 10)))
    n = 0
    for part, items in (("train", plan.train), ("test", plan.heldout)):
        for f, y in items:
            target = data / plan.classes[y] / f"{n:06d}-{Path(f).name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(Path(f).resolve(), target)
            rows.append((str(target), "val" if part == "train" and f in val else part))
            n += 1
    SplitFile.write(folder / "split.csv", rows)
    with open(data / "classes.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["class", "english", "spanish"])
        for cid, spoken in zip(plan.classes, plan.spoken("en"), strict=True):
            names = plan.names.get(cid, {})
            w.writerow([cid, spoken, names.get("es") or spoken])
    return data


class _MessagesOnly(TrainCallback):
    """The probe's messages and the user's cancel reach the caller; its progress does not (the
    bar belongs to the fine-tuning that follows)."""

    def __init__(self, cb: TrainCallback) -> None:
        self.cb = cb
        self.language = cb.language

    def on_message(self, text: str) -> None:
        from assistant.catalog import phrase
        self.cb.on_message(phrase("retrain_head_first", self.cb.language, text=text))

    def cancelled(self) -> bool:
        return self.cb.cancelled()


def linear_probe(cfg, base, plan, cb, work: Path) -> Path:
    """Fit the head on frozen features first (fast mode), then fine-tune from that head rather
    than a random one, which would shake the trained network in the first steps (LP-FT, Kumar et
    al., ICLR 2022). Returns a checkpoint of the plan's products in model.train's order (by name)."""
    from model.retrain.fast import run_fast
    probe_cfg = replace(cfg, out=str(work / "probe.safetensors"), mode="fast", adapt="head")
    run_fast(probe_cfg, base, plan, _MessagesOnly(cb), base)  # the network it fine-tunes
    probe = load_checkpoint(work / "probe.safetensors")
    idx = [plan.classes.index(c) for c in sorted(plan.classes)]
    head = head_name(base.architecture)
    state = dict(probe.state_dict)
    for key in (f"{head}.weight", f"{head}.bias"):
        state[key] = state[key][idx]
    meta = dict(probe.meta, classes=[probe.meta["classes"][i] for i in idx])
    return save_checkpoint(work / "init.safetensors", state, meta)


def run_full(cfg, base, plan, cb) -> RetrainReport | None:
    from model.config import PRESETS, TrainConfig
    from model.retrain.plan import new_metadata

    # one work folder per --out, laid out the same way every time: a run killed halfway leaves
    # model.train's resume state beside --out, and the same command then goes on from there
    key = hashlib.sha256(str(Path(cfg.out).resolve()).encode()).hexdigest()[:16]
    work = paths.cache_dir() / "retrain" / f"full-{key}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    resume = resume_path(cfg.out).exists()
    try:
        data = link_tree(plan, work, cfg.seed)
        init = linear_probe(cfg, base, plan, cb, work)
        values = dict(PRESETS["default"])
        values.update(data=str(data), out=cfg.out, arch=base.architecture, init=str(init),
                      epochs=cfg.epochs or DEFAULT_EPOCHS, lr=cfg.lr or DEFAULT_LR, warmup_epochs=0.5,
                      image_size=base.preprocessing.size, split_file=str(work / "split.csv"),
                      names=str(data / "classes.csv"), device=cfg.device, seed=cfg.seed,
                      select="val_acc", max_minutes=cfg.max_minutes, resume=resume,
                      batch_size=min(64, max(8, len(plan.train) // 4)),
                      report_dir=str(Path(cfg.out).with_suffix(".report") / "training"))
        result = train(TrainConfig.from_dict(values), cb, command=cfg.command)
        if result.cancelled or result.out is None:
            return None
        new = load_checkpoint(result.out)
        device = pick_device(cfg.device)
        cb.note("retrain_checking", n=len(plan.heldout))
        files = [f for f, _ in plan.heldout]
        new_feats, ok, reasons = FeatureCache(new, device).features(files, cancelled=cb.cancelled)
        old_feats, _, _ = FeatureCache(base, device).features(files, cancelled=cb.cancelled)
        keep = [i for i, good in enumerate(ok) if good]
        order = {c: i for i, c in enumerate(new.class_ids)}
        labels = torch.tensor([order[plan.classes[plan.heldout[i][1]]] for i in keep], dtype=torch.long)
        new_logits = _logits(new, new_feats[keep, 0])
        old_logits = _logits(base, old_feats[keep, 0])
        cur = torch.full((len(keep), len(new.class_ids)), float("-inf"))
        shared = torch.zeros(len(new.class_ids), dtype=torch.bool)
        for cid, i in order.items():
            if cid in plan.base_rows:
                cur[:, i] = old_logits[:, plan.base_rows[cid]]
                shared[i] = True
        bursts = independent_photos([files[i] for i in keep], labels, old_feats[keep, 0])
        held, calibration, counted = measured(new_logits, labels, new.class_ids, bursts,
                                              taught_rows(plan, cfg.only, new.class_ids), plan.twins_only)
        calibration = calibration or new.meta.get("calibration")
        recorded = _recorded(base) if base.meta.get("metrics") else None
        comparison = compare(new_logits, cur, labels, shared[labels] & counted if len(labels) else shared[:0],
                             recorded, held["top1"], calibration, base.meta.get("calibration"))
        held_pairs = [(str(f), plan.classes[y]) for f, y in plan.heldout]
        plan.classes = new.class_ids  # model.train orders products by name
        names = plan.spoken("en")
        skipped = [(str(Path(p).resolve()), r) for p, r in result.skipped]  # the photo, not its link
        skipped += [(str(files[i]), reasons[i]) for i, good in enumerate(ok) if not good]
        report = RetrainReport("full", new.class_ids, names, plan.new, plan.replaced, held,
                               comparison, make_lookalikes(held["confusion"], new.class_ids, names),
                               len(plan.train), skipped, True, held_pairs)
        report.old_heldout_unseen = plan.old_heldout_unseen
        report.twins_only = list(plan.twins_only)
        report.bands = calibration.get("bands") if calibration else None
        report.spoken = {lang: plan.spoken(lang) for lang in LANGUAGES}
        meta = dict(new.meta)
        meta.update(new_metadata(base, plan, cfg, report, {"epochs_run": new.meta["training"]["epochs_run"]}))
        meta["metrics"] = {**new.meta.get("metrics", {}), **meta["metrics"]}
        meta["training"] = new.meta["training"]
        if calibration is not None:  # recalibrated on the retrain's held-out photos
            meta["calibration"] = calibration
        out = save_checkpoint(cfg.out, new.state_dict, meta)
        write(report, out.with_suffix(".report"), held["confusion"])
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _logits(ckpt, feats: torch.Tensor) -> torch.Tensor:
    head = head_name(ckpt.architecture)
    w = ckpt.state_dict[f"{head}.weight"].float()
    b = ckpt.state_dict[f"{head}.bias"].float()
    return feats @ w.T + b if len(feats) else torch.zeros(0, len(b))


def _recorded(base) -> float | None:
    from assistant.store.models import heldout_top1
    return heldout_top1(base.meta)
