"""Fast mode: the frozen network's features (cached), a refitted head, optionally the upper blocks.

Photos of the products the model already knows (when found) are fitted along with the new ones,
so the new rows learn what they must not be confused with and the old rows get re-balanced.
Without them, old rows stay frozen and only the new rows are fitted (against the frozen old
logits) from an imprinted start; the report then says the old products were not checked.

`--adapt upper` also fine-tunes the upper half of the network's blocks on the cached output of
the lower half, in three views of every photo (the photo, its mirror image, a random crop):
minutes instead of seconds, and far better when many products are new (README, maintainer
section). It changes the network, so it needs photos of every product the model keeps.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from assistant.catalog.languages import LANGUAGES
from assistant.inference.architectures import architecture, head_name
from assistant.inference.checkpoint import save_checkpoint
from model.data import DataError
from model.retrain.bank import Bank, add_to_user_bank, find_bank, rows_for
from model.retrain.features import (
    METER,
    VIEWS,
    FeatureCache,
    crop_views,
    frozen_digest,
    split_network,
)
from model.retrain.head import (
    adapted_state,
    as_linear,
    batched,
    fit_upper,
    frozen_maps,
    imprint,
    learn_head,
    stand_ins,
)
from model.retrain.imagenet import features_checkpoint, fresh_ids, start_from_imagenet
from model.retrain.plan import taught_rows
from model.retrain.refit import learnt_by, refit_head, refit_upper, tail_steps
from model.retrain.report import (
    RetrainReport,
    compare,
    independent_photos,
    make_lookalikes,
    measured,
    write,
)
from model.retrain.upper import UPPER_EPOCHS
from model.train import pick_device

FIT_STEPS = 60


@dataclass
class Bar:
    """The one progress bar over reading, fitting and adapting."""

    cb: object
    total: int
    done: int = 0

    def tick(self, loss: float = 0.0) -> None:
        self.done = min(self.done + 1, self.total)
        self.cb.on_step(0, self.done, self.total, loss)

    def skip(self, steps: int) -> None:
        self.done = min(self.done + steps, self.total)


@dataclass
class TrainingSet:
    """The features fitted on and checked on, with what was left out and why."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    held_x: torch.Tensor
    held_y: torch.Tensor
    held_files: list
    skipped: list[tuple[str, str]]
    old_checked: bool
    n_real: int       # rows of real photos (the stand-ins come after)
    n_mirrored: int   # new products' photos, each in VIEWS


@dataclass
class Fitted:
    state: dict
    new_logits: torch.Tensor
    pooled_held: torch.Tensor
    how: dict = field(default_factory=dict)
    features_of: object = None  # the checkpoint whose features the head read (a bank's key)
    start: tuple | None = None  # the head's start (weight, bias, known rows): a refit's too
    learnt: torch.Tensor | None = None  # held-out rows the saved head learnt from (refit.py)
    maps: tuple | None = None  # --adapt upper: the training and held-out maps fit_upper read


def run_fast(cfg, base, plan, cb, features_of=None, cache: FeatureCache | None = None) -> RetrainReport:
    """Read (cached) features, fit the head (and the upper blocks), judge and save.
    features_of: the checkpoint whose features a head-only fit reads (features_checkpoint's
    choice; made here when not given). cache: the feature cache the forecast counted in (the
    pooled features', or `--adapt upper`'s: upper_cache), used when it is this run's."""
    device = pick_device(cfg.device)
    level = "lower" if cfg.adapt == "upper" else "pooled"
    new_ids = fresh_ids(cfg, plan)
    if level == "lower" or features_of is None:
        features_of = features_checkpoint(cfg, base, plan, cb) if level == "pooled" else base
    if cache is None or cache.level != level or cache.ckpt is not features_of:
        cache = FeatureCache(features_of, device, level)
    new_rows = {plan.classes.index(c) for c in new_ids}
    mirrored = [(f, y) for f, y in plan.train if y in new_rows]
    single = [(f, y) for f, y in plan.train if y not in new_rows]
    if level == "lower":  # every training photo in all its views, kept apart: fit_upper draws
        groups = [(list(plan.train), crop_views()), ([], ("photo",)), (plan.heldout, ("photo",))]
    else:
        groups = [(mirrored, VIEWS), (single, ("photo",)), (plan.heldout, ("photo",))]
    epochs = (cfg.epochs or UPPER_EPOCHS) if level == "lower" else 0
    block_steps = epochs * max(-(-len(plan.train) // 32), 1)
    batches = sum(cache.batches_needed([f for f, _ in g], v) for g, v in groups)
    refit = level == "pooled" and cfg.refit
    tail = tail_steps(len(plan.train), len(plan.heldout)) if level == "lower" and cfg.refit else 0
    bar = Bar(cb, batches + FIT_STEPS * (1 + refit) + block_steps + tail)
    cb.on_start(1, bar.total)
    if batches:
        cb.note("retrain_reading", n=batches * 32)
    data = training_set(cfg, base, plan, cb, cache, groups, level, new_rows, bar)
    fitted = fit(cfg, base, plan, cb, cache, data, level, (len(new_ids), epochs), bar)
    if refit:  # checked: now the head learns from the taught products' held-out photos too
        fitted = refit_head(data, fitted, plan, cfg.only, head_name(base.architecture), FIT_STEPS,
                            cb, bar)
    elif tail:  # the upper blocks and the head too, a short tail
        fitted = refit_upper(data, fitted, plan, cfg, cache.model, base.architecture,
                             head_name(base.architecture), tail, cb, bar)
    return judge_and_save(cfg, base, plan, cb, data, fitted, level)


def training_set(cfg, base, plan, cb, cache, groups, level, new_rows, bar) -> TrainingSet:
    """The groups' features (read or cached), the bank's rows, stand-ins for products with
    neither photos nor bank rows; refuses a new product without one readable photo."""
    skipped: list[tuple[str, str]] = []
    sets, kept = [], []
    for group, views in groups:
        feats, ok, reasons = cache.features([f for f, _ in group], views, bar.tick, cb.cancelled)
        skipped += [(str(f), r) for (f, _), good, r in zip(group, ok, reasons, strict=True) if not good]
        keep = torch.tensor([i for i, good in enumerate(ok) if good], dtype=torch.long)
        labels = torch.tensor([y for (_, y), good in zip(group, ok, strict=True) if good], dtype=torch.long)
        sets.append((feats[keep] if len(keep) else feats[:0], labels))
        kept.append([f for (f, _), good in zip(group, ok, strict=True) if good])
    (mx, my), (sx, sy), (hx, hy) = sets
    if level == "lower":
        chunks = [(mx, my)]  # N x views x C x H x W
    else:
        chunks = [(mx[:, v], my) for v in range(mx.shape[1])] + [(sx[:, 0], sy)]
    held_chunks = [(hx[:, 0], hy)]
    banked = _from_bank(base, plan, cfg, level)
    if banked is not None:  # the old products without photos here, from the feature bank
        bx, by, bhx, bhy, found, unseen = banked
        chunks.append((bx, by))
        held_chunks.append((bhx, bhy))
        plan.old_heldout_unseen = plan.old_heldout_unseen and unseen
        cb.note("retrain_from_bank", n=len(found))
    chunks = [(x, y) for x, y in chunks if len(y)]
    if not chunks:
        raise DataError("no readable training photo at all", message_id="err_no_training_photo")
    train_x = torch.cat([x for x, _ in chunks])
    train_y = torch.cat([y for _, y in chunks])
    taught = set(train_y.tolist())
    n_real = len(train_y)
    train_x, train_y = _stand_ins(cfg, base, plan, cb, level, train_x, train_y, taught)
    lacking = [plan.classes[r] for r in sorted(new_rows) if r not in taught]
    if lacking:
        raise DataError(f"no readable training photo for: {', '.join(lacking)}",
                        message_id="err_no_training_photo_for", products=", ".join(lacking))
    held_chunks = [(x, y) for x, y in held_chunks if len(y)]
    held_x = torch.cat([x for x, _ in held_chunks]) if held_chunks else train_x[:0]
    hy = torch.cat([y for _, y in held_chunks]) if held_chunks else hy
    old_checked = cfg.only or not [c for c in plan.missing_old
                                   if plan.classes.index(c) not in taught]  # real rows only
    return TrainingSet(train_x, train_y, held_x, hy, kept[2], skipped, old_checked, n_real, len(my))


def _stand_ins(cfg, base, plan, cb, level, train_x, train_y, taught):
    """Known products with neither photos nor bank rows: stand-ins from the head itself."""
    guessed = [] if cfg.only or level != "pooled" else [
        plan.classes.index(c) for c in plan.missing_old if plan.classes.index(c) not in taught]
    if not guessed:
        return train_x, train_y
    head_w = base.state_dict[f"{head_name(base.architecture)}.weight"].float()
    head_b = base.state_dict[f"{head_name(base.architecture)}.bias"].float()
    rows = [plan.base_rows[plan.classes[r]] for r in guessed]
    fake = stand_ins(train_x, head_w, head_b, rows, seed=cfg.seed)
    cb.note("retrain_stand_ins", n=len(guessed))
    return (torch.cat([train_x, fake]),
            torch.cat([train_y, torch.tensor(guessed).repeat_interleave(len(fake) // len(guessed))]))


def _base_head(base, plan):
    """The head of the model in use, laid out in the new product order (known rows copied)."""
    head = head_name(base.architecture)
    bw = base.state_dict[f"{head}.weight"].float()
    bb = base.state_dict[f"{head}.bias"].float()
    c, d = len(plan.classes), bw.shape[1]
    weight, bias = torch.zeros(c, d), torch.zeros(c)
    known = torch.zeros(c, dtype=torch.bool)
    current = torch.full((c,), -1, dtype=torch.long)
    for i, cid in enumerate(plan.classes):
        if cid in plan.base_rows:
            weight[i], bias[i] = bw[plan.base_rows[cid]], bb[plan.base_rows[cid]]
            known[i] = True
            current[i] = plan.base_rows[cid]
    return weight, bias, known, current


def fit(cfg, base, plan, cb, cache, data: TrainingSet, level, counts, bar) -> Fitted:
    """The head from an imprinted start (fitted, or alone from ImageNet's features), then with
    --adapt upper the upper blocks too; the new model's answers on the held-out photos."""
    new_count, epochs = counts
    device = cache.device
    train_x, train_y, held_x = data.train_x, data.train_y, data.held_x
    model, how, imagenet, start = None, {}, False, None
    if level == "lower":
        model = cache.model
        _, upper_fn = split_network(model, base.architecture)
        with torch.no_grad():  # what the model in use makes of the held-out photos (the comparison)
            pooled_held = _pool(upper_fn, held_x, device)
        imagenet = start_from_imagenet(cfg, new_count, len(plan.classes), base.architecture, model, cb)
        how["upper_start"] = "imagenet" if imagenet else "model"
        how["kept_blocks"] = architecture(base.architecture).kept_upper(model) if imagenet else 0
        # the blocks kept as they are run once on every view, not at every step
        train_x, held_x = (frozen_maps(model, base.architecture, how["kept_blocks"], x) for x in (train_x, held_x))
        _, upper_fn = architecture(base.architecture).split_upper(model, how["kept_blocks"])
        with torch.no_grad():  # the head starts from the photos' pooled features, as they are now
            pooled_train = _pool(upper_fn, train_x[:, 0], device)
    else:
        pooled_train, pooled_held = train_x, held_x
    weight, bias, known, _ = _base_head(base, plan)
    c, d = weight.shape
    if cache.ckpt is not base:  # the head reads ImageNet's upper blocks (features_checkpoint):
        how["upper_start"] = "imagenet"  # no old row reads them, so every row is fitted afresh
        pooled_held = _as_in_use(base, device, data, known)
        weight, bias, known = torch.zeros(c, d), torch.zeros(c), torch.zeros(c, dtype=torch.bool)
    if imagenet:  # the old rows do not read ImageNet's features: every row starts afresh, from
        # its product's mean feature at unit length, and is not fitted: a head fitted to the
        # photos' ImageNet features already fits the training photos and leaves the blocks
        # little to learn (81 GroceryStore products, val: 82.4% so, 84.5% from this start)
        weight, bias = torch.zeros(c, d), torch.zeros(c)
        imprint(pooled_train, train_y, list(range(c)), weight, bias, torch.zeros(c, dtype=torch.bool))
        bar.skip(FIT_STEPS)
    else:
        start = (weight.clone(), bias.clone(), known.clone())
        cb.note("retrain_fitting_head")
        weight, bias = learn_head(pooled_train, train_y, weight, bias, known, FIT_STEPS,
                                  step=lambda loss: bar.tick(loss), cancelled=cb.cancelled)
    head = head_name(base.architecture)
    state = dict(cache.ckpt.state_dict)
    if level == "lower":
        lin = as_linear(weight, bias, device)
        cb.note("retrain_adapting")
        began = time.perf_counter()
        fit_upper(model, base.architecture, lin, train_x, train_y, epochs=epochs,
                  lr=cfg.lr or 1e-3, step=lambda e, s, loss: bar.tick(loss), cancelled=cb.cancelled,
                  seed=cfg.seed, kept=how["kept_blocks"])
        METER.upper_seconds += time.perf_counter() - began  # this computer's speed, per photo
        METER.upper_photos += len(train_y)
        with torch.no_grad():  # upper_fn runs the blocks as they learnt (in place)
            new_logits = (lin(_pool(upper_fn, held_x, device).to(device)).cpu()
                          if len(held_x) else torch.zeros(0, c))
        state = adapted_state(state, model, head, lin)
    else:
        new_logits = held_x @ weight.T + bias
        state[f"{head}.weight"], state[f"{head}.bias"] = weight, bias
    return Fitted(state, new_logits, pooled_held, how, cache.ckpt, start,
                  maps=(train_x, held_x) if level == "lower" else None)


def _as_in_use(base, device, data: TrainingSet, known: torch.Tensor) -> torch.Tensor:
    """The held-out photos' features under the model in use (its own upper blocks), for the
    report's comparison on the products it knows; zeros when it knows none of them."""
    if not len(data.held_y) or not bool(known[data.held_y].any()):
        return torch.zeros(len(data.held_y), data.held_x.shape[1])
    feats, _, _ = FeatureCache(base, device).features(data.held_files, ("photo",))
    return feats[:, 0]


def judge_and_save(cfg, base, plan, cb, data: TrainingSet, fitted: Fitted, level) -> RetrainReport:
    """The new model against the model in use on the same held-out photos, the calibration,
    the report; the checkpoint saved (atomically) with its report beside it."""
    from model.retrain.plan import new_metadata
    hy, new_logits, pooled_held = data.held_y, fitted.new_logits, fitted.pooled_held
    head = head_name(base.architecture)
    bw = base.state_dict[f"{head}.weight"].float()
    bb = base.state_dict[f"{head}.bias"].float()
    _, _, known, current = _base_head(base, plan)
    c = len(plan.classes)
    # the model in use on the same photos (same frozen features), in the new product order
    old_logits = pooled_held @ bw.T + bb if len(pooled_held) else torch.zeros(0, len(bb))
    cur_logits = torch.full((len(hy), c), float("-inf"))
    for i in range(c):
        if current[i] >= 0:
            cur_logits[:, i] = old_logits[:, current[i]]
    shared = known[hy] if len(hy) else torch.zeros(0, dtype=torch.bool)
    if len(hy):  # not photos the model in use learnt from (its refit): it would win on them
        seen = torch.zeros(len(hy), dtype=torch.bool)
        seen[:len(data.held_files)] = learnt_by(base.meta, data.held_files)
        shared &= ~seen
    bursts = independent_photos(data.held_files, hy, pooled_held)
    held, calibration, counted = measured(new_logits, hy, plan.classes, bursts,
                                          taught_rows(plan, cfg.only), plan.twins_only)
    comparison = compare(new_logits, cur_logits, hy, shared & counted, _recorded(base), held["top1"],
                         calibration, base.meta.get("calibration"))
    names = plan.spoken("en")
    report = RetrainReport("fast", plan.classes, names, plan.new, plan.replaced, held, comparison,
                           make_lookalikes(held["confusion"], plan.classes, names),
                           len(data.train_y), data.skipped, data.old_checked,
                           [(str(f), plan.classes[y]) for f, y in plan.heldout])
    report.old_heldout_unseen = plan.old_heldout_unseen
    report.twins_only = list(plan.twins_only)
    report.refit = fitted.how.get("refit_photos", 0)
    report.bands = calibration["bands"] if calibration else None
    report.spoken = {lang: plan.spoken(lang) for lang in LANGUAGES}
    meta = new_metadata(base, plan, cfg, report, fitted.how)
    if calibration is not None:  # every retrain recalibrates, on its own held-out photos
        meta["calibration"] = calibration
    out = save_checkpoint(cfg.out, fitted.state, meta)
    if level == "pooled":  # real photos only, never the stand-ins
        _remember(fitted.features_of, plan, data.train_x[:data.n_real], data.train_y[:data.n_real], data.held_x,
                  hy, data.n_mirrored, fitted.learnt)
    write(report, out.with_suffix(".report"), held["confusion"])
    cb.note("train_saved", path=out)
    return report


def _pool(upper, lowers: torch.Tensor, device: torch.device, batch: int = 64) -> torch.Tensor:
    """Pooled features (CPU) of cached lower-block outputs."""
    return batched(upper, lowers, device, batch)


def _from_bank(base, plan, cfg, level):
    """Bank rows for the old products that have no photos on this machine, or None."""
    if cfg.only or not plan.missing_old:
        return None
    if level != "pooled":
        products = ", ".join(plan.missing_old[:6]) + (" ..." if len(plan.missing_old) > 6 else "")
        raise DataError("--adapt upper changes the network, so it needs photos of every "
                        f"product the model knows (none here for: {products}); "
                        "give --base-data DIR, use --only, or adapt the head only",
                        message_id="err_upper_needs_old_photos", products=products)
    bank = find_bank(base.path, frozen_digest(base, "pooled"))
    if bank is None:
        return None
    return rows_for(bank, plan.missing_old, {c: i for i, c in enumerate(plan.classes)}, cfg.seed)


def _remember(base, plan, train_x, train_y, held_x, held_y, mirrored: int, learnt=None) -> None:
    """Put this retrain's features (photos, not mirror images) in the user's bank, so that a
    later retrain of this network can show the head these products even without their photos.
    Held-out rows the saved head learnt from (learnt: its refit) are banked as trained."""
    keep = torch.ones(len(train_y), dtype=torch.bool)
    keep[mirrored:2 * mirrored] = False  # the mirror view of the new products' photos
    feats = torch.cat([train_x[keep], held_x])
    labels = [plan.classes[int(y)] for y in torch.cat([train_y[keep], held_y])]
    held = torch.cat([torch.zeros(int(keep.sum()), dtype=torch.bool),
                      torch.ones(len(held_y), dtype=torch.bool) if learnt is None else ~learnt])
    add_to_user_bank(Bank(feats, labels, held, frozen_digest(base, "pooled")))


def _recorded(base) -> float | None:
    from assistant.store.models import heldout_top1
    return heldout_top1(base.meta) if base.meta.get("metrics") else None
