"""This computer's measured retraining speed, and what it makes of the retrain about to start.

A fixed "about a minute" was wrong by a factor of nine on a busy computer, and "took 9 min here
last time" is wrong as soon as the library has more photos, or their features are cached (a
second fast retrain reads nothing again). So what is kept is a speed, per computer and network:
seconds per photo view read through the network's features, and the fixed costs besides (start,
imports, the head's fit, saving, the export), refreshed from every real retrain's own phases
(and, before the first retrain, from the maintainer window's warm-up, which reads features
anyway). An estimate is that speed times the photos whose features are not cached yet. No Qt.
"""
from __future__ import annotations

import json
import logging
import math
import platform
import time
from dataclasses import dataclass

from assistant import paths
from assistant.files import atomic_write_text

log = logging.getLogger(__name__)

#: a read rate rests on at least this many photo views (one batch), else the last one is kept
MIN_VIEWS = 32
#: a fast retrain's fixed costs against a warm-up's start (the process, its imports, the network
#: loaded, the photos counted), where no retrain has been timed here yet: the retrain also
#: plans, fits the head, saves, and makes the app's files (24 s against 9.6 s on the 2-core
#: development CPU, docs/retraining.md "Honest time"); the first real retrain replaces it
FIXED_PER_START = 2.5
#: the views of each training photo `--adapt upper` reads through the lower blocks: the photo,
#: its mirror image and a random crop (model.retrain.features.crop_views; here, where the window
#: counts them without importing torch)
UPPER_VIEWS = 3
#: the fields of a speed (seconds): per pooled view; fixed costs of a fast retrain; per view of
#: the lower blocks (`--adapt upper`); its fixed costs; its passes, per photo (at upper_epochs);
#: full mode, per photo (at full_epochs); a child's start (process, imports, the network loaded)
FIELDS = ("view_s", "fixed_s", "lower_view_s", "upper_fixed_s", "upper_photo_s", "upper_epochs",
          "full_photo_s", "full_epochs", "start_s")


def _file():
    return paths.data_dir() / "retrain_times.json"


def machine_key(architecture: str, size: int) -> str:
    """One speed per computer and network (architecture at its input size)."""
    return f"{platform.node() or 'this computer'}|{architecture}@{size}"


def model_key(model_path) -> str | None:
    """The speed key of a model file (None when its metadata cannot be read). No torch."""
    from assistant.inference.checkpoint import read_metadata
    try:
        meta = read_metadata(model_path)
        return machine_key(str(meta["architecture"]), int(meta["preprocessing"]["size"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("no speed key for %s: %s", model_path, exc)
        return None


def _read() -> dict[str, dict[str, float]]:
    """{key: {field: value}}; a damaged file is ignored (with a log line): estimates then start
    afresh, nothing else is lost."""
    try:
        data = json.loads(_file().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("retrain times unreadable, ignored: %s", exc)
        return {}
    if not isinstance(data, dict):
        log.warning("retrain times unreadable, ignored: not a table")
        return {}
    out = {}
    for key, fields in data.items():
        if isinstance(fields, dict):  # an older file's {mode: seconds} entries say no speed
            out[str(key)] = {f: float(v) for f, v in fields.items() if f in FIELDS and _good(v)}
    return out


def _good(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) \
        and value >= 0


def speed(key: str | None) -> dict[str, float]:
    """The recorded speed of a key ({} when none)."""
    return dict(_read().get(key, {})) if key else {}


def record(key: str | None, **fields: float | None) -> None:
    """Keep the newest measured fields of a key (the others stay): the speed follows the machine."""
    if not key:
        return
    table = _read()
    kept = table.setdefault(key, {})
    kept.update({f: round(float(v), 4) for f, v in fields.items() if f in FIELDS and _good(v)})
    try:
        atomic_write_text(_file(), json.dumps(table, indent=1))
    except OSError as exc:
        log.warning("cannot keep the retrain speed: %s", exc)


def rate(views: int, seconds: float) -> float | None:
    """Seconds per view, when enough views were read to say."""
    return seconds / views if views >= MIN_VIEWS and seconds > 0 else None


@dataclass(frozen=True)
class Job:
    """A retrain about to start: kind "fast" (the head), "upper" (`--adapt upper`) or "full";
    cold: photo views whose features are not cached yet (per view: a new photo is read as the
    photo and its mirror image, `--adapt upper` reads UPPER_VIEWS); photos: training photos (the
    passes of upper and full); epochs: 0 for the default."""

    kind: str = "fast"
    cold: int = 0
    photos: int = 0
    epochs: int = 0


def estimate(sp: dict[str, float], job: Job, view_s: float | None = None) -> float | None:
    """Seconds the retrain will take on this computer, from its recorded speed sp (view_s: a
    rate measured during the run, instead of the recorded one); None where sp lacks a figure
    the job needs (not yet timed on this computer)."""
    if job.kind == "full":
        if "full_photo_s" not in sp:
            return None
        scale = job.epochs / sp["full_epochs"] if job.epochs and sp.get("full_epochs") else 1.0
        return sp.get("start_s", 0.0) + sp["full_photo_s"] * job.photos * scale
    upper = job.kind == "upper"
    per_view = view_s if view_s is not None else sp.get("lower_view_s" if upper else "view_s")
    fixed = sp.get("upper_fixed_s" if upper else "fixed_s")
    if fixed is None and not upper and "start_s" in sp:  # only a warm-up measured, so far
        fixed = FIXED_PER_START * sp["start_s"]
    if fixed is None or (job.cold and per_view is None):
        return None
    seconds = fixed + job.cold * (per_view or 0.0)
    if upper:
        if "upper_photo_s" not in sp:
            return None
        scale = job.epochs / sp["upper_epochs"] if job.epochs and sp.get("upper_epochs") else 1.0
        seconds += sp["upper_photo_s"] * job.photos * scale
    return seconds


@dataclass
class Forecast:
    """The seconds left of a running retrain: first the estimate, then, once a batch of photos
    has been read, the rate this run measures (started: time.time() when it began)."""

    sp: dict[str, float]
    job: Job
    started: float

    def total(self, views: int = 0, seconds: float = 0.0) -> float | None:
        return estimate(self.sp, self.job, rate(views, seconds))

    def left(self, views: int = 0, seconds: float = 0.0, now: float | None = None) -> float | None:
        """None when unknown, or overdue (the caller then judges by the steps left)."""
        total = self.total(views, seconds)
        if total is None:
            return None
        left = self.started + total - (time.time() if now is None else now)
        return left if left >= 1.0 else None


def process_started() -> float:
    """time.time() when this process started (its interpreter and imports are part of what a
    retrain costs); now where it cannot be told. Its age is read on the kernel's boot clock
    (/proc/uptime against the process's start tick), not through a wall-clock boot time. The
    start is the fork: a process that a long-lived shell became by exec (the last command of a
    `( ... ) &`) is as old as that shell, so measure commands started afresh."""
    import os
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_tick = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        age = uptime - start_tick / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):  # not Linux: the imports go uncounted
        return time.time()
    return time.time() - max(age, 0.0)
