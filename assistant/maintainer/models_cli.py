"""`python main.py models [list | activate FILE | rollback | restore-bundled | bank | words]`: activation,
rollback and the bundled model go through the maintainer session; list and bank are
model.models_cli's."""
from __future__ import annotations

import argparse
import sys

from model.models_cli import add_arguments

__all__ = ["add_arguments", "run"]


def run(args: argparse.Namespace) -> int:
    from assistant.maintainer.session import MaintainerSession, Worse
    from model import models_cli

    if args.action in ("list", "bank", "words"):
        return models_cli.run(args)
    session = MaintainerSession()
    if args.action == "activate":
        if not args.file:
            print("models activate: say which model file to activate", file=sys.stderr)
            return 2
        try:
            path = session.activate(args.file, yes=args.yes)
        except Worse as worse:
            print(f"NOT activated: its report says it is worse than the model it was made from "
                  f"({worse.new_top1:.1%} vs {worse.current_top1:.1%}); add --yes to activate it "
                  "anyway", file=sys.stderr)
            return 3
        from model.precision import make_ready
        make_ready(path)  # measured once per CPU kind, where the model's photos are here
    elif args.action == "rollback":
        path = session.rollback()
    else:
        path = session.restore_bundled()
    print(f"the app now uses {path}")
    return 0
