"""Which model the app uses: the user's active one if any, else the best bundled checkpoint."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from assistant import paths
from assistant.checkpoint import CheckpointError, read_metadata

log = logging.getLogger(__name__)


def bundled_dir() -> Path:
    from model import BUNDLED_DIR
    return BUNDLED_DIR


def bundled_models() -> list[Path]:
    return sorted(bundled_dir().glob("*.safetensors"))


def heldout_top1(meta: dict) -> float:
    m = meta.get("metrics", {})
    for split in ("heldout", "test", "val"):
        if m.get(split, {}).get("top1") is not None:
            return float(m[split]["top1"])
    return 0.0


def bundled_default() -> Path:
    """The bundled checkpoint with the best held-out accuracy in its metadata."""
    best, best_score = None, -1.0
    for path in bundled_models():
        try:
            score = heldout_top1(read_metadata(path))
        except CheckpointError as exc:
            log.warning("ignoring bundled model %s", exc)
            continue
        if score > best_score:
            best, best_score = path, score
    if best is None:
        raise CheckpointError(f"{bundled_dir()}: no usable bundled model; reinstall the assistant")
    return best


def active_pointer() -> Path:
    return paths.models_dir() / "active.json"


def active_model_path() -> Path:
    """The model the app would load now."""
    pointer = active_pointer()
    if pointer.is_file():
        try:
            target = Path(json.loads(pointer.read_text())["path"])
            if target.is_file():
                return target
            log.warning("active model %s is missing; using the bundled model", target)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("cannot read %s (%s); using the bundled model", pointer, exc)
    return bundled_default()
