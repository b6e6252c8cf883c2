"""Which model the app uses, and the maintainer's model versions. No Qt.

The user's models live under paths.models_dir(): versions/ holds every model ever activated,
active.json names the one in use and the ones before it (newest first), so one call rolls
back and the bundled model can always be restored. Every write is a temp file, fsync and
os.replace: a process killed at any moment leaves the previous pointer or the new one, never
a half-written file in their place.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from assistant import files, paths
from assistant.files import atomic_write, atomic_write_text
from assistant.inference.checkpoint import CheckpointError, load_checkpoint, read_metadata
from assistant.inference.onnx_files import file_sha256

log = logging.getLogger(__name__)

#: how many earlier models active.json remembers for rollback
HISTORY = 10
#: how many retrained models not (yet) activated maintainer mode keeps
KEEP_CANDIDATES = 3
#: the history entry that means "the bundled model"
BUNDLED = "bundled"


def bundled_dir() -> Path:
    return paths.BUNDLED_DIR


def bundled_models() -> list[Path]:
    return sorted(bundled_dir().glob("*.safetensors"))


def heldout_top1(meta: dict) -> float:
    return heldout_figure(meta)[0] or 0.0


def heldout_figure(meta: dict) -> tuple[float | None, str]:
    """(top-1, which photos it was measured on: "fold-0 test, 1018 photos") of a model, from
    its metadata: the held-out photos of a retrain, else its test, else its validation set."""
    m = meta.get("metrics", {})
    names = {"heldout": "held-out", "test": "test", "val": "validation"}
    for split in ("heldout", "test", "val"):
        entry = m.get(split, {})
        if isinstance(entry, dict) and isinstance(entry.get("top1"), int | float):
            n = entry.get("n")
            count = f", {n} photos" if isinstance(n, int) else ""
            if isinstance(entry.get("measured_on"), str):
                return float(entry["top1"]), entry["measured_on"] + count
            if split == "heldout" and "retrain" in meta:
                # a maintainer's photos of one session are near copies of each other: the figure
                # says how well it learnt them, and is not comparable with another model's
                return float(entry["top1"]), "photos held out of its own teaching folders" + count
            return float(entry["top1"]), names[split] + count
    return None, ""


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


def versions_dir() -> Path:
    folder = paths.models_dir() / "versions"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def read_pointer() -> dict:
    """active.json as {"path": str | None, "history": [...]}; {} when absent or unreadable."""
    pointer = active_pointer()
    if not pointer.is_file():
        return {}
    try:
        data = json.loads(pointer.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s (%s); using the bundled model", pointer, exc)
        return {}
    if not isinstance(data, dict):
        return {}
    history = data.get("history")
    history = [h for h in history if isinstance(h, str)] if isinstance(history, list) else []
    data["history"] = [_from_pointer(h) for h in history]
    if isinstance(data.get("path"), str):
        written = data["path"]
        data["path"] = _from_pointer(written)
        if any(Path(e).is_absolute() and _to_pointer(m) != e
               for e, m in zip([written, *history], [data["path"], *data["history"]], strict=True)):
            _migrate_pointer(data)
    return data


def _migrate_pointer(data: dict) -> None:
    """Rewrite a pointer of the earlier format (absolute paths) as relative paths, once, so a
    data folder moved later still names its models. Best effort: reading must not fail."""
    try:
        _write_pointer(data["path"], data["history"])
        log.info("%s: rewritten with paths relative to its folder", active_pointer())
    except OSError as exc:
        log.warning("cannot rewrite %s (%s); it is still read", active_pointer(), exc)


def _to_pointer(entry: str) -> str:
    """A path inside the models folder is stored relative to it, so that the user's data folder
    can be moved or restored elsewhere and still name its models."""
    if entry == BUNDLED:
        return entry
    try:
        return Path(entry).resolve().relative_to(paths.models_dir().resolve()).as_posix()
    except ValueError:
        return entry


def _from_pointer(entry: str) -> str:
    if entry == BUNDLED:
        return entry
    if not Path(entry).is_absolute():
        return str(paths.models_dir() / entry)
    return str(_moved(Path(entry)) or entry)


def _moved(path: Path) -> Path | None:
    """An absolute path of the earlier pointer format (".../models/versions/X.safetensors")
    that is gone, found again in the models folder of today (the data folder was moved)."""
    if path.exists():
        return None
    home, parts = paths.models_dir(), path.parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == home.name and (home.joinpath(*parts[i + 1:])).is_file():
            return home.joinpath(*parts[i + 1:])
    return None


def active_model_path() -> Path:
    """The model the app would load now."""
    data = read_pointer()
    target = data.get("path")
    if isinstance(target, str) and target and target != BUNDLED:
        if Path(target).is_file():
            return Path(target)
        log.warning("active model %s is missing; using the bundled model", target)
    return bundled_default()


def is_bundled_active() -> bool:
    target = read_pointer().get("path")
    return not target or target == BUNDLED or not Path(str(target)).is_file()


@dataclass(frozen=True)
class ModelVersion:
    """One model the maintainer can choose, as shown in lists and spoken."""

    path: Path
    label: str
    created: str
    products: int
    top1: float | None
    active: bool
    bundled: bool
    measured_on: str = ""   # which photos top1 was measured on
    #: (photos, independent photos) a retrain's figure rests on: bursts of near-identical shots
    #: count once (None: not counted, as before issue 29)
    independent: tuple[int, int] | None = None


def independent_photos(meta: dict) -> tuple[int, int] | None:
    """(photos, independent photos) of a retrain's held-out figure, when it counted them."""
    entry = meta.get("metrics", {}).get("heldout", {})
    if not isinstance(entry, dict):
        return None
    n, independent = entry.get("n"), entry.get("independent")
    if isinstance(n, int) and isinstance(independent, int) and 0 < independent <= n:
        return n, independent
    return None


def describe(path: Path, active: bool = False, bundled: bool = False) -> ModelVersion:
    meta = read_metadata(path)
    top1, measured_on = heldout_figure(meta)
    label = meta.get("version") or meta.get("label") or path.stem
    return ModelVersion(path, str(label), str(meta.get("created", "")), len(meta["classes"]),
                        top1, active, bundled, measured_on, independent_photos(meta))


def list_versions() -> list[ModelVersion]:
    """The bundled model(s) first, then the stored versions, newest first."""
    active = None
    try:
        active = active_model_path().resolve()
    except CheckpointError:
        pass
    out = []
    for path in bundled_models():
        try:
            out.append(describe(path, path.resolve() == active, True))
        except CheckpointError as exc:
            log.warning("ignoring %s", exc)
    for path in sorted(versions_dir().glob("*.safetensors"), reverse=True):
        try:
            out.append(describe(path, path.resolve() == active, False))
        except CheckpointError as exc:
            log.warning("ignoring %s", exc)
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:40] or "model"


def store_version(source: str | os.PathLike, label: str | None = None) -> Path:
    """Copy a checked model file into versions/ (atomically); a stored one is returned as is."""
    source = Path(source)
    load_checkpoint(source)  # refuses damaged, truncated or foreign files with a clear message
    folder = versions_dir()
    if source.resolve().parent == folder.resolve():
        return source
    digest = file_sha256(source)
    for stored in folder.glob("*.safetensors"):  # the same model activated again: one version
        if stored.stat().st_size == source.stat().st_size and file_sha256(stored) == digest:
            return stored
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    dest = folder / f"{stamp}-{_slug(label or source.stem)}.safetensors"
    n = 1
    while dest.exists():
        n += 1
        dest = folder / f"{stamp}-{_slug(label or source.stem)}-{n}.safetensors"
    with atomic_write(dest) as tmp, open(source, "rb") as src, open(tmp, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    return dest


def activate(path: str | os.PathLike, label: str | None = None) -> Path:
    """Make a model the app's model: store it, then switch the pointer in one atomic step.
    The model in use before goes to the top of the rollback history. Returns the stored path.
    A model the app could not start with (see check_usable) is refused before anything changes."""
    check_usable(path)
    stored = store_version(path, label)
    prepare_runtime(stored)
    data = read_pointer()
    current = data.get("path") or BUNDLED
    _write_pointer(str(stored.resolve()), [current] + data.get("history", []))
    prune()
    return stored


def check_usable(path: str | os.PathLike) -> None:
    """The load checks of the app's start-up (a complete file, its checksum, sensible metadata,
    answers that are numbers: no NaN weights), or CheckpointError in one line."""
    from assistant.inference.checkpoint import check_finite_weights
    from assistant.inference.onnx_backend import OnnxClassifier, open_classifier
    from assistant.inference.onnx_files import find_onnx
    check_finite_weights(path)  # NaN weights: at once, before a network is built to probe
    if find_onnx(path) is not None:  # its one export is made (a retrain's): the runtime's checks
        OnnxClassifier(path)         # then, without building the network a second time in torch
        return
    open_classifier(path, "torch", device="cpu")


def prepare_runtime(path: Path) -> None:
    """Build the model's ONNX file now, so the app never waits for an export at start.
    A failure is logged, not raised: the app then says so and answers with PyTorch."""
    from assistant.inference.export import ensure_onnx
    try:
        ensure_onnx(path)
    except Exception as exc:  # the model itself is fine; only its fast path is missing
        log.warning("%s: no ONNX file (%s); the app will fall back to PyTorch", path, exc)


def prune(keep: int = HISTORY) -> list[Path]:
    """Delete stored versions that are neither in use, nor in the rollback history, nor among
    the `keep` newest; returns what was deleted."""
    data = read_pointer()
    wanted = {str(Path(p).resolve()) for p in [data.get("path"), *data.get("history", [])]
              if p and p != BUNDLED}
    return files.keep_newest(list(versions_dir().glob("*.safetensors")), keep, protect=wanted)


def new_candidate_path(keep: int = KEEP_CANDIDATES) -> Path:
    """Where maintainer mode writes its next retrained model: candidates/ keeps the `keep`
    newest (this one included), each with its report folder."""
    folder = paths.models_dir() / "candidates"
    folder.mkdir(parents=True, exist_ok=True)
    files.keep_newest(list(folder.glob("*.safetensors")), max(keep - 1, 0), companions=(".report",))
    return folder / f"{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.safetensors"


def rollback() -> Path:
    """Go back to the model used before the active one (the bundled one when there is none
    left). Returns the path now active."""
    data = read_pointer()
    history = data.get("history", [])
    current = data.get("path") or BUNDLED
    while history:
        previous, history = history[0], history[1:]
        if previous == current:
            continue
        if previous == BUNDLED:
            _write_pointer(BUNDLED, history)
            return bundled_default()
        try:
            read_metadata(previous)
        except CheckpointError as exc:
            log.warning("skipping %s in the rollback history", exc)
            continue
        _write_pointer(previous, history)
        return Path(previous)
    if current == BUNDLED:
        raise CheckpointError("the bundled model is already in use; there is nothing to roll back to",
                              message_id="err_nothing_to_roll_back")
    _write_pointer(BUNDLED, [])
    return bundled_default()


def restore_bundled() -> Path:
    """Use the bundled model again; the model in use goes to the rollback history."""
    path = bundled_default()
    prepare_runtime(path)
    data = read_pointer()
    current = data.get("path") or BUNDLED
    history = data.get("history", [])
    _write_pointer(BUNDLED, ([current] if current != BUNDLED else []) + history)
    return path


def _write_pointer(target: str, history: list[str]) -> None:
    seen, clean = {target}, []
    for entry in history:
        if entry not in seen:
            seen.add(entry)
            clean.append(entry)
    data = {"path": _to_pointer(target), "history": [_to_pointer(h) for h in clean[:HISTORY]],
            "updated": _dt.datetime.now().replace(microsecond=0).isoformat()}
    atomic_write_text(active_pointer(), json.dumps(data, indent=1))


def remove_stale_temp(*folders: Path) -> list[Path]:
    """Delete temp files (".name.PID.tmp") left by a killed process in the model folders."""
    return files.remove_stale_temp(*(folders or (paths.models_dir(), versions_dir())))
    return True
