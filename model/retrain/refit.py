"""The last step of a fast retrain: once the new model is checked, it learns from the taught
products' held-out photos too, and that model is saved: the head alone (refit_head), or with
`--adapt upper` the upper blocks and the head, for a short tail (refit_upper).

Those held-out photos are whole bursts (model/retrain/bursts.py): scenes the checked head never
saw, and that the saved one should. The report keeps the checked head's figures, measured on
photos it never saw, and says that the saved model learnt from them afterwards; the sure band
fitted on them is kept. The saved model was checked on less than it learnt from, so its figure
errs on the low side. What is never learnt from: the held-out photos of the products the model
already knew and is not taught here (the recorded test part of its split, the feature bank's
held-out rows), on which later retrains check those products.

The photos learnt so are named in the saved model's metadata (`retrain.learnt_heldout`, a short
hash of each photo's folder and file name), so the next retrain leaves them out of its
comparison with this model: this model would win on photos it learnt from.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from pathlib import Path

import torch

from model.retrain.features import METER
from model.retrain.head import adapted_state, as_linear, fit_upper, learn_head
from model.retrain.plan import taught_rows


def photo_key(photo: str | Path) -> str:
    """A short, stable name for a photo: its folder (the product) and file name, hashed."""
    p = Path(photo)
    return hashlib.sha256(f"{p.parent.name}/{p.name}".encode()).hexdigest()[:12]


def learnt_by(meta: dict, files: list) -> torch.Tensor:
    """Which of these held-out photos the model with this metadata learnt from (its refit)."""
    keys = set(meta.get("retrain", {}).get("learnt_heldout", ()))
    return torch.tensor([photo_key(f) in keys for f in files], dtype=torch.bool)


#: passes of the tail over the training and held-out photos, at this share of the learning rate
#: (81 GroceryStore products, 303 of 2,640 photos held out in bursts: val 82.8% as checked after
#: 5 passes, 88.5% after a tail of one pass, 87.5% of two; 86.1% when all photos learn 5 passes:
#: docs/retraining.md)
TAIL_EPOCHS = 1
TAIL_LR = 0.3


def _to_learn(data, plan, only: bool) -> torch.Tensor:
    """The held-out rows to learn from: the taught products' photos (not the bank's rows)."""
    rows = taught_rows(plan, only)
    n_files = len(data.held_files)  # the held-out rows from photos come first, the bank's after
    return torch.tensor([i < n_files and int(y) in rows for i, y in enumerate(data.held_y)],
                        dtype=torch.bool)


def _learnt(fitted, data, learn: torch.Tensor, state: dict):
    """fitted with the saved state, and the held-out photos it learnt from named."""
    learnt = sorted(photo_key(f) for f, keep in zip(data.held_files, learn[:len(data.held_files)],
                                                    strict=True) if keep)
    how = dict(fitted.how, refit_photos=len(learnt), learnt_heldout=learnt)
    return replace(fitted, state=state, how=how, learnt=learn)


def tail_steps(train: int, heldout: int, batch: int = 32) -> int:
    """The tail's steps on the progress bar (every photo counted: what it may take at most)."""
    return TAIL_EPOCHS * -(-(train + heldout) // batch)


def refit_upper(data, fitted, plan, cfg, model, arch: str, head: str, steps: int, cb, bar):
    """With --adapt upper: the checked network (model, adapted in place) and its head learn a
    short tail more (TAIL_EPOCHS passes at TAIL_LR of the rate) on the training photos' views
    and the taught products' held-out photos (their photo, as read for the check). A new Fitted
    holding that network; its answers on the held-out photos stay the checked network's.
    steps: the tail's share of the progress bar (tail_steps)."""
    learn = _to_learn(data, plan, cfg.only)
    if not bool(learn.any()):
        bar.skip(steps)
        return fitted
    labels = torch.cat([data.train_y, data.held_y[learn]])
    device = next(model.parameters()).device
    lin = as_linear(fitted.state[f"{head}.weight"], fitted.state[f"{head}.bias"], device)
    cb.note("retrain_refitting", n=int(learn.sum()))
    began = time.perf_counter()
    train_maps, held_maps = fitted.maps  # as the check's passes read them (frozen_maps)
    fit_upper(model, arch, lin, train_maps, labels, epochs=TAIL_EPOCHS, lr=(cfg.lr or 1e-3) * TAIL_LR,
              step=lambda e, s, loss: bar.tick(loss), cancelled=cb.cancelled, seed=cfg.seed + 1,
              kept=fitted.how.get("kept_blocks", 0), warmup=0.3, more=held_maps[learn])
    METER.upper_seconds += time.perf_counter() - began  # the recorded speed per training photo
    bar.skip(steps - tail_steps(len(data.train_y), int(learn.sum())))
    state = adapted_state(fitted.state, model, head, lin)
    return _learnt(fitted, data, learn, state)


def refit_head(data, fitted, plan, only: bool, head: str, steps: int, cb, bar):
    """The head fitted again, from the same start, on the training rows and the taught products'
    held-out rows (their photo, as read for the check): a new Fitted whose state holds that head;
    its answers on the held-out photos (new_logits, what the report measures) are the checked
    head's. Nothing to add: the same Fitted."""
    learn = _to_learn(data, plan, only)
    if not bool(learn.any()):
        bar.skip(steps)
        return fitted
    x = torch.cat([data.train_x, data.held_x[learn]])
    y = torch.cat([data.train_y, data.held_y[learn]])
    weight, bias, known = (t.clone() for t in fitted.start)
    cb.note("retrain_refitting", n=int(learn.sum()))
    weight, bias = learn_head(x, y, weight, bias, known, steps,
                              step=lambda loss: bar.tick(loss), cancelled=cb.cancelled)
    state = dict(fitted.state)
    state[f"{head}.weight"], state[f"{head}.bias"] = weight, bias
    return _learnt(fitted, data, learn, state)
