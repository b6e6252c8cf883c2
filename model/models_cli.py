"""`python main.py models [list | activate FILE | rollback | restore-bundled]`: the model
versions of maintainer mode, one command each."""
from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", default="list",
                   choices=["list", "activate", "rollback", "restore-bundled"],
                   help="list the models; activate FILE; go back to the previous model; or use "
                        "the bundled model again")
    p.add_argument("file", nargs="?", metavar="FILE", help="with activate: the model to use")
    p.add_argument("--yes", action="store_true",
                   help="with activate: even a model whose report says it is worse")


def run(args: argparse.Namespace) -> int:
    from assistant import models
    from assistant.checkpoint import read_metadata

    if args.action == "list":
        for v in models.list_versions():
            mark = "*" if v.active else " "
            acc = f"{v.top1:.1%}" if v.top1 is not None else "  -  "
            kind = "bundled" if v.bundled else "stored"
            print(f"{mark} {acc:>6}  {v.products:3d} products  {kind:7s}  {v.label}  {v.path}")
        print("(* = in use)")
        return 0
    if args.action == "activate":
        if not args.file:
            print("models activate: say which model file to activate", file=sys.stderr)
            return 2
        verdict = read_metadata(args.file).get("retrain", {}).get("comparison", {})
        if verdict.get("verdict") == "worse" and not args.yes:
            print(f"NOT activated: its report says it is worse than the model it was made from "
                  f"({verdict.get('new_top1', 0):.1%} vs {verdict.get('current_top1', 0):.1%}); "
                  "add --yes to activate it anyway", file=sys.stderr)
            return 3
        path = models.activate(args.file)
    elif args.action == "rollback":
        path = models.rollback()
    else:
        path = models.restore_bundled()
    print(f"the app now uses {path}")
    return 0
