"""`python main.py models list` and `models bank`; the command's activate, rollback and
restore-bundled are assistant.maintainer.models_cli's (the maintainer session)."""
from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", default="list",
                   choices=["list", "activate", "rollback", "restore-bundled", "bank"],
                   help="list the models; activate FILE; go back to the previous model; use "
                        "the bundled model again; or write FILE's feature bank from --data")
    p.add_argument("file", nargs="?", metavar="FILE",
                   help="with activate: the model to use; with bank: the model (default: in use)")
    p.add_argument("--data", metavar="DIR", help="with bank: photos of the model's products, one "
                                                 "sub-folder each (its recorded test split is held out)")
    p.add_argument("--yes", action="store_true",
                   help="with activate: even a model whose report says it is worse")


def run(args: argparse.Namespace) -> int:
    """list and bank; activate, rollback and restore-bundled are the maintainer session's
    (assistant.maintainer.models_cli)."""
    from assistant.store import models

    if args.action == "list":
        return list_models(models.list_versions())
    if args.action == "bank":
        return make_bank(args)
    raise ValueError(f"models {args.action}: run it as python main.py models {args.action}")


def list_models(versions: list, language: str | None = None) -> int:
    """One line per model and, under a retrain's, how many independent photos its figure rests
    on (in the interface's language: the catalogue's sentence)."""
    from assistant.live.catalog import phrase
    from assistant.live.settings import load
    language = language or load().language
    # each model by its name, its figure with the photos it was measured on: figures on
    # different photos are not ranked against each other (a retrain's own held-out photos
    # are near copies of its teaching photos)
    for v in versions:
        mark = "*" if v.active else " "
        kind = "bundled" if v.bundled else "stored"
        figure = (f"{v.top1:.1%} top-1 on {v.measured_on or 'photos not recorded'}"
                  if v.top1 is not None else "no figure recorded")
        print(f"{mark} {v.label} ({kind}, {v.products} products): {figure}\n    {v.path}")
        if v.independent is not None:
            print("    " + phrase("models_independent", language, n=v.independent[0],
                                  bursts=v.independent[1]))
    print("(* = in use; each figure was measured on the photos it names: figures on "
          "different photos are not comparable)")
    return 0


def make_bank(args: argparse.Namespace) -> int:
    """<model>.bank beside the model: what lets fast retraining keep the model's products on a
    machine without their photos (ship it with the model)."""
    import torch

    from assistant.inference.checkpoint import load_checkpoint
    from assistant.store.models import active_model_path
    from model.retrain.bank import PER_CLASS, Bank, beside, save_bank
    from model.retrain.features import FeatureCache, frozen_digest
    from model.retrain.plan import old_product_photos
    from model.train import pick_device
    if not args.data:
        print("models bank: say where the photos are (--data DIR)", file=sys.stderr)
        return 2
    path = args.file or active_model_path()
    base = load_checkpoint(path)
    old = old_product_photos(base, base.class_ids, [args.data], PER_CLASS, 0.25, 0)
    photos = old.train + old.heldout
    feats, ok, _ = FeatureCache(base, pick_device("auto")).features([f for f, _ in photos])
    keep = [i for i, good in enumerate(ok) if good]
    held = torch.tensor([i >= len(old.train) for i in keep], dtype=torch.bool)
    bank = Bank(feats[keep, 0], [photos[i][1] for i in keep], held, frozen_digest(base, "pooled"))
    out = save_bank(beside(path), bank)
    print(f"wrote {out}: {len(keep)} photos of {len(bank.products)} products "
          f"({int(held.sum())} held out{'' if old.unseen else ', some maybe seen in training'})")
    return 0
