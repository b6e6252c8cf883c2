"""The last step of a fast retrain (head only): once the new model is checked, its head learns
from the taught products' held-out photos too, and that head is saved.

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
from dataclasses import replace
from pathlib import Path

import torch

from model.retrain.head import learn_head
from model.retrain.plan import taught_rows


def photo_key(photo: str | Path) -> str:
    """A short, stable name for a photo: its folder (the product) and file name, hashed."""
    p = Path(photo)
    return hashlib.sha256(f"{p.parent.name}/{p.name}".encode()).hexdigest()[:12]


def learnt_by(meta: dict, files: list) -> torch.Tensor:
    """Which of these held-out photos the model with this metadata learnt from (its refit)."""
    keys = set(meta.get("retrain", {}).get("learnt_heldout", ()))
    return torch.tensor([photo_key(f) in keys for f in files], dtype=torch.bool)


def refit_head(data, fitted, plan, only: bool, head: str, steps: int, cb, bar):
    """The head fitted again, from the same start, on the training rows and the taught products'
    held-out rows (their photo, as read for the check): a new Fitted whose state holds that head;
    its answers on the held-out photos (new_logits, what the report measures) are the checked
    head's. Nothing to add: the same Fitted."""
    rows = taught_rows(plan, only)
    n_files = len(data.held_files)  # the held-out rows from photos come first, the bank's after
    learn = torch.tensor([i < n_files and int(y) in rows for i, y in enumerate(data.held_y)],
                         dtype=torch.bool)
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
    learnt = sorted(photo_key(f) for f, keep in zip(data.held_files, learn[:n_files], strict=True)
                    if keep)
    how = dict(fitted.how, refit_photos=len(learnt), learnt_heldout=learnt)
    return replace(fitted, state=state, how=how, learnt=learn)
