"""`python main.py retrain`: teach the model in use new products from the terminal, with a
progress bar; --activate hands the new model to the maintainer session's activation."""
from __future__ import annotations

import argparse
import sys

from assistant.maintainer.session import MaintainerSession, Worse, retrain_here
from model.retrain import REFUSED, add_arguments, check_inputs

__all__ = ["add_arguments", "run"]


def truth_line(forecast, language: str = "en") -> str | None:
    """The whole command's time (from its process's start) against the estimate it said at the
    start: how honest this computer's recorded speed was."""
    import time

    from assistant.catalog import phrase
    from assistant.store import timings
    estimate = forecast.total() if forecast is not None else None
    if not estimate:
        return None
    seconds = time.time() - timings.process_started()
    return phrase("retrain_took", language, seconds=f"{seconds:.1f}", estimate=f"{estimate:.1f}",
                  ratio=f"{estimate / seconds:.2f}")


def run(args: argparse.Namespace) -> int:
    import shlex

    from assistant.maintainer.job import sleeping_threads
    sleeping_threads()  # before torch is loaded
    from model.callbacks import TerminalProgress
    from model.retrain import RetrainConfig

    cfg = RetrainConfig(data=args.data, out=args.out, mode=args.mode, only=args.only,
                        base=args.base, base_data=args.base_data or [], per_class=args.per_class,
                        adapt=args.adapt, upper_start=args.upper_start, image_size=args.image_size,
                        heldout=args.heldout, seed=args.seed, epochs=args.epochs,
                        lr=args.lr, max_minutes=args.max_minutes, device=args.device,
                        names=args.names, label_words=getattr(args, "label_words", 0),
                        refit=getattr(args, "refit", True),
                        command="python main.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    check_inputs(cfg)       # before torch: a mistyped folder is answered at once
    bar = TerminalProgress()
    try:
        result = retrain_here(cfg, bar)
    finally:
        bar.close()
    if result.cancelled:
        print("cancelled; the model in use is untouched", file=sys.stderr)
        return 130
    report = result.report
    for path, why in report.skipped:
        print(f"skipped {path}: {why}", file=sys.stderr)
    print(f"wrote {result.out} in {result.seconds:.0f} s")
    took = truth_line(bar.forecast)
    if took:
        print(took)
    for line in report.summary_lines():
        print(line)
    print("Per product (held out), worst first:")
    for line in report.per_product_lines():
        print("  " + line)
    if report.confusion_picture:
        print(f"confusion matrix: {report.confusion_picture}")
    print(f"report: {report.folder}")
    if not args.activate:
        print(f"not activated; to use it: python main.py models activate {result.out}")
        return 0
    try:
        stored = MaintainerSession().activate(result.out, yes=args.yes)
    except Worse as worse:
        print(f"NOT activated: the new model is worse than the one in use ({worse.new_top1:.1%} "
              f"vs {worse.current_top1:.1%}). Run again with --yes to activate it anyway, or: "
              f"python main.py models activate {result.out} --yes", file=sys.stderr)
        return REFUSED
    print(f"activated: the app now uses {stored}")
    return 0
