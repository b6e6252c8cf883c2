"""What a retrain is asked (RetrainConfig) and what it gives back (RetrainResult): plain data,
read by every room of model/retrain (the plan, the modes, the runner in core)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: `--adapt auto` adapts the upper blocks from this many new products on (and when most are new)
MANY_NEW = 10


def mostly_new(new: int, products: int) -> bool:
    """Most of the new model's products are new to it: its upper blocks then start from
    ImageNet's (`--upper-start auto`); with at least MANY_NEW of them, `--adapt auto` adapts the
    upper blocks (the 81 GroceryStore products: the head alone 63.5% on val, README)."""
    return 2 * new > products


@dataclass
class RetrainConfig:
    data: str = ""
    out: str = ""
    mode: str = "fast"                 # fast | full
    only: bool = False
    base: str | None = None            # starting model; None: the active model
    base_data: list[str] = field(default_factory=list)
    per_class: int | None = None       # photos per known product at most (fast: 24, full: all)
    adapt: str = "auto"                # fast mode: head | upper | auto (mostly_new, MANY_NEW: upper)
    upper_start: str = "auto"          # --adapt upper: auto | model | imagenet
    image_size: int | None = None      # --adapt upper: the new model's input size (None: see upper_size)
    heldout: float | None = None       # share of photos held out (None: plan.heldout_share)
    seed: int = 0
    epochs: int | None = None          # full: 8; fast --adapt upper: 5 (then refit.TAIL_EPOCHS)
    lr: float | None = None
    max_minutes: float | None = None
    device: str = "auto"
    names: str | None = None
    label_words: int = 0               # photos per product read for its label words (0: none)
    refit: bool = True                 # fast head mode: learn the held-out photos after the check
    command: str = ""


@dataclass
class RetrainResult:
    out: Path | None
    report: object | None = None       # model.retrain.report.RetrainReport
    cancelled: bool = False
    seconds: float = 0.0
    photos: tuple | None = None        # (training photos, [(held-out photo, product)]): precision
    adapt: str = ""                    # what fast mode adapted (head | upper; --adapt auto decided)
