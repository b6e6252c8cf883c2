"""What a retrain is asked (RetrainConfig) and what it gives back (RetrainResult): plain data,
read by every room of model/retrain (the plan, the modes, the runner in core)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RetrainConfig:
    data: str = ""
    out: str = ""
    mode: str = "fast"                 # fast | full
    only: bool = False
    base: str | None = None            # starting model; None: the active model
    base_data: list[str] = field(default_factory=list)
    per_class: int | None = None       # photos per known product at most (fast: 24, full: all)
    adapt: str = "head"                # fast mode: head | upper
    upper_start: str = "auto"          # --adapt upper: auto | model | imagenet
    image_size: int | None = None      # --adapt upper: the new model's input size (None: see upper_size)
    heldout: float | None = None       # share of photos held out (None: plan.heldout_share)
    seed: int = 0
    epochs: int | None = None          # full: 8; fast --adapt upper: 8
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
