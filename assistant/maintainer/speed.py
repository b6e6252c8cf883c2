"""This computer's retraining speed, from the phases a real retrain or a warm-up measured
(assistant.store.timings keeps it; model.retrain.features.METER measured the reading). Runs
where the work ran: the maintainer's child, `main.py retrain`, the bench. No Qt."""
from __future__ import annotations

import time
from pathlib import Path

from assistant.store import timings


def _key(base: str | Path | None) -> str | None:
    from assistant.store.models import active_model_path
    return timings.model_key(base or active_model_path())


def after_retrain(cfg, result, began: float) -> None:
    """Keep what a finished retrain measured: its rate of reading photos, and all the rest of
    its time (began: time.time() when it began, the process's start for a child or a command)
    as the fixed costs; a cancelled one says nothing."""
    from model.retrain.features import METER
    if result.cancelled or result.out is None:
        return
    total = time.time() - began
    key = _key(cfg.base)
    if cfg.mode == "full":
        photos = len(result.photos[0]) if result.photos else 0
        if photos:
            timings.record(key, full_photo_s=total / photos, full_epochs=cfg.epochs)
    elif (result.adapt or cfg.adapt) == "upper":
        photos = METER.upper_photos
        timings.record(key, lower_view_s=timings.rate(METER.views, METER.seconds),
                       upper_fixed_s=total - METER.seconds - METER.upper_seconds,
                       upper_photo_s=METER.upper_seconds / photos if photos else None,
                       upper_epochs=cfg.epochs)
    else:
        timings.record(key, view_s=timings.rate(METER.views, METER.seconds),
                       fixed_s=total - METER.seconds)


def after_warm(base: str | Path | None, start_s: float) -> None:
    """Keep what a warm-up measured (it reads the same features a fast retrain reads, the same
    way): its rate, and its start (process, imports, the network loaded), a part of the fixed
    costs, known before any retrain here."""
    from model.retrain.features import METER
    timings.record(_key(base), view_s=timings.rate(METER.views, METER.seconds), start_s=start_s)
