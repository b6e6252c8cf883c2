"""How long each retraining mode took on this computer the last time: maintainer mode's labels
promise what this machine measured, not what a fast one would do. No Qt."""
from __future__ import annotations

import json
import logging
import math

from assistant import paths
from assistant.files import atomic_write_text

log = logging.getLogger(__name__)


def _file():
    return paths.data_dir() / "retrain_times.json"


def last_seconds() -> dict[str, float]:
    """{mode: seconds} of the last finished retrain of each mode ({} when none, or unreadable)."""
    try:
        data = json.loads(_file().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("retrain times unreadable: %s", exc)
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items()
            if isinstance(v, int | float) and math.isfinite(v) and v > 0}


def record(mode: str, seconds: float) -> None:
    """Keep how long a finished retrain of mode took (a cancelled one says nothing)."""
    times = last_seconds()
    times[mode] = round(float(seconds), 1)
    try:
        atomic_write_text(_file(), json.dumps(times))
    except OSError as exc:
        log.warning("cannot keep the retrain time: %s", exc)
