"""A feature bank: features of a few photos of each product under a frozen network, kept so that
fast retraining can still show the head the old products on a machine without their photos.

Without them, a new product's row is fitted against nothing, and it ends up claiming the old
products' photos (measured: 84% of Freiburg photos taken for a newly added banana). A bank holds
up to PER_CLASS feature vectors per product, the held-out ones flagged, keyed by the SHA-256 of
the frozen weights (model.retrain.features.frozen_digest), so every fast-retrained descendant of a model
can use it. Found beside the model (`<model>.bank`, how the bundled model ships one) or in
`<models folder>/banks/` (written after each fast retrain, so the user's own products join it).
safetensors inside: no pickle, nothing in it can run.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from assistant import paths
from assistant.files import atomic_write

log = logging.getLogger(__name__)
PER_CLASS = 32
KEY = "grocery_assistant_bank"


@dataclass
class Bank:
    features: torch.Tensor       # N x D float32
    labels: list[str]            # product id of each row
    heldout: torch.Tensor        # N bools: photos the model did not train on
    digest: str

    def rows(self, product: str) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.tensor([i for i, c in enumerate(self.labels) if c == product], dtype=torch.long)
        return self.features[idx], self.heldout[idx]

    @property
    def products(self) -> set[str]:
        return set(self.labels)


def user_bank_path(digest: str) -> Path:
    return paths.models_dir() / "banks" / f"{digest[:24]}.bank"


def beside(model_path: str | os.PathLike) -> Path:
    return Path(model_path).with_suffix(".bank")


def load_bank(path: Path, digest: str) -> Bank | None:
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})[KEY])
            features, heldout = f.get_tensor("features").float(), f.get_tensor("heldout").bool()
    except Exception as exc:  # a damaged bank is only a missed help
        log.warning("ignoring the feature bank %s: %s", path, exc)
        return None
    if meta.get("digest") != digest or len(meta.get("labels", [])) != len(features):
        return None  # another network's features
    return Bank(features, list(meta["labels"]), heldout, digest)


def find_bank(model_path: str | os.PathLike | None, digest: str) -> Bank | None:
    """The bank beside the model and the user's bank for this network, merged."""
    banks = [b for b in (load_bank(beside(model_path), digest) if model_path else None,
                         load_bank(user_bank_path(digest), digest)) if b is not None]
    return merge(banks) if banks else None


def merge(banks: list[Bank], per_class: int = PER_CLASS) -> Bank:
    """Later banks' rows win for a product they hold; each product capped at per_class rows."""
    owner: dict[str, int] = {}
    for k, b in enumerate(banks):
        for c in b.products:
            owner[c] = k
    feats, labels, held = [], [], []
    for c, k in sorted(owner.items()):
        f, h = banks[k].rows(c)
        keep_h = torch.nonzero(h).flatten()[:per_class // 4]   # a quarter held out at most
        keep_t = torch.nonzero(~h).flatten()[:per_class - len(keep_h)]
        idx = torch.cat([keep_t, keep_h])
        feats.append(f[idx])
        held.append(h[idx])
        labels += [c] * len(idx)
    return Bank(torch.cat(feats), labels, torch.cat(held), banks[0].digest)


def rows_for(bank: Bank, products: list[str], index: dict[str, int], seed: int = 0):
    """Training and held-out rows of the bank for products: (train x, train y, held x, held y,
    products found, whether every held-out row is one the model did not train on)."""
    gen = torch.Generator().manual_seed(seed)
    tx, ty, hx, hy, found, unseen = [], [], [], [], [], True
    for c in products:
        f, h = bank.rows(c)
        if len(f) < 2:
            continue
        if not bool(h.any()):  # nothing flagged: hold out a fifth (seen in training, maybe)
            h = torch.zeros(len(f), dtype=torch.bool)
            h[torch.randperm(len(f), generator=gen)[:max(1, len(f) // 5)]] = True
            unseen = False
        tx.append(f[~h])
        hx.append(f[h])
        ty += [index[c]] * int((~h).sum())
        hy += [index[c]] * int(h.sum())
        found.append(c)
    if not found:
        return None
    return (torch.cat(tx), torch.tensor(ty, dtype=torch.long), torch.cat(hx),
            torch.tensor(hy, dtype=torch.long), found, unseen)


def save_bank(path: Path, bank: Bank) -> Path:
    with atomic_write(path) as tmp:
        save_file({"features": bank.features.to(torch.float16).contiguous(),
                   "heldout": bank.heldout.to(torch.uint8).contiguous()}, str(tmp),
                  metadata={KEY: json.dumps({"digest": bank.digest, "labels": bank.labels})})
    return path


def add_to_user_bank(new: Bank) -> Path | None:
    """Merge new rows (they win for their products) into the user's bank for this network."""
    old = load_bank(user_bank_path(new.digest), new.digest)
    try:
        return save_bank(user_bank_path(new.digest), merge([b for b in (old, new) if b is not None]))
    except OSError as exc:
        log.warning("cannot write the feature bank: %s", exc)
        return None
