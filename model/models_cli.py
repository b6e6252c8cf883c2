"""`python main.py models list`, `models bank` and `models words`; the command's activate,
rollback and restore-bundled are assistant.maintainer.models_cli's (the maintainer session)."""
from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", default="list",
                   choices=["list", "activate", "rollback", "restore-bundled", "bank", "words"],
                   help="list the models; activate FILE; go back to the previous model; use "
                        "the bundled model again; write FILE's feature bank from --data; or "
                        "show (and with --set change) the label words of PRODUCT")
    p.add_argument("file", nargs="?", metavar="FILE|PRODUCT",
                   help="with activate: the model to use; with bank: the model (the one in use "
                        "when not given); with words: the product (all of them when not given)")
    p.add_argument("--set", nargs="*", metavar="WORD", dest="set_words",
                   help="with words PRODUCT: its label words from now on (none: it has none)")
    p.add_argument("--model", metavar="FILE",
                   help="with words: the model whose words are shown or changed (default: in use)")
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
    if args.action == "words":
        from model.label_words_cli import run_words
        return run_words(args.file, args.set_words, args.model)
    raise ValueError(f"models {args.action}: run it as python main.py models {args.action}")


def list_models(versions: list, language: str | None = None) -> int:
    """One line per model and, under a retrain's, how many independent photos its figure rests
    on (in the interface's language: the catalogue's sentence)."""
    from assistant.catalog import phrase
    from assistant.inference.precision import read_choice
    from assistant.live.settings import load
    from assistant.machine import cpu_kind
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
        choice = read_choice(v.path)
        print("    precision: " + (choice.line() if choice else
                                   f"fp32 (int8 not measured on {cpu_kind()} CPUs)"))
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
