"""The base for files: the one atomic write, the one set of photo suffixes, and the clean-up of
temp files a killed process left behind. No Qt, no torch.

Every file the assistant writes for keeps (models, pointers, settings, caches, CSVs) goes
through atomic_write: a temp file ".NAME.PID.tmp" beside it, fsync, os.replace, fsync of the
folder. A process killed at any moment leaves the old file or the new one, never half of one.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

#: the photos the assistant reads, everywhere (training, retraining, folders, the API's checks)
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"})
#: the fewest photos a product is learnt from (training and retraining refuse fewer; the
#: maintainer is told before a retrain starts): a held-out photo and a few to learn from
MIN_PHOTOS = 5
#: a product id: a folder name that is safe as a path part and as a transcript field (letters,
#: digits, "_", "-", "."; not starting with "."; no separators, no control characters)
_PRODUCT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
#: a temp file of atomic_write: ".NAME.PID.tmp", optionally with a suffix (".npz")
_TMP = re.compile(r"^\..+\.(\d+)\.tmp(\.[a-z0-9]+)?$")


def is_product_id(pid: object) -> bool:
    return isinstance(pid, str) and _PRODUCT_ID.fullmatch(pid) is not None


def case_twin(pid: str, known) -> str | None:
    """The id among `known` that is pid itself or differs from it only in capitals ("Anjou" and
    "ANJOU" would be two products with one spoken name), or None."""
    return next((k for k in known if k.lower() == pid.lower()), None)


def is_photo(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in PHOTO_SUFFIXES


def photos_in(folder: str | os.PathLike) -> list[Path]:
    """Every photo under folder (sub-folders too), sorted; FileNotFoundError if it is none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of photos")
    return sorted(p for p in folder.rglob("*") if is_photo(p) and p.is_file())


def temp_path(path: Path, suffix: str = "") -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temp path beside `path`; write it in the block. On success it is fsynced and
    replaces `path`; on any failure it is removed and `path` is left as it was.

    suffix: for writers that insist on an ending (numpy's savez adds ".npz" otherwise)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path, suffix)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)


def fsync_dir(folder: Path) -> None:
    """Make a rename inside folder durable (best effort: some filesystems refuse)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def keep_newest(files: list[Path], keep: int, protect: set[str] = frozenset(),
                companions: tuple[str, ...] = ()) -> list[Path]:
    """The one retention rule for old files: of `files`, delete all but the `keep` newest
    (by modification time), never one whose resolved path is in `protect`; a deleted file's
    companions (the same name with another suffix: its report folder, its feature bank) go
    with it. Returns what was deleted."""
    import shutil

    newest_first = sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)
    removed = []
    for path in newest_first[keep:]:
        if str(path.resolve()) in protect:
            continue
        path.unlink(missing_ok=True)
        for suffix in companions:
            other = path.with_suffix(suffix)
            if other.is_dir():
                shutil.rmtree(other, ignore_errors=True)
            else:
                other.unlink(missing_ok=True)
        removed.append(path)
    return removed


def remove_stale_temp(*folders: Path) -> list[Path]:
    """Delete the temp files of atomic_write left by a killed process; live writers' are kept."""
    removed = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for file in folder.iterdir():
            m = _TMP.match(file.name)
            if m and not pid_alive(int(m.group(1))):
                try:
                    file.unlink()
                    removed.append(file)
                except OSError as exc:
                    log.warning("cannot remove %s: %s", file, exc)
    return removed


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
