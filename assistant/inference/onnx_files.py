"""Which ONNX file belongs to which checkpoint: named by the checkpoint's SHA-256, looked for in
`onnx/` beside it and then in the user cache, and trusted only when the SHA stamped inside it
matches. Read without the onnx package (its import alone takes seconds). No torch, no Qt.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

#: where a checkpoint's ONNX files are looked for: `onnx/` beside it (the set-up command
#: builds the bundled ones there), then the user cache (where new ones are written)
ONNX_FOLDER = "onnx"


class ExportError(RuntimeError):
    """The ONNX file could not be made; the message says why."""


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def onnx_name(sha256: str, int8: bool = False, features: bool = False) -> str:
    """features: the network without its head (pooled features out), what fast retraining
    reads photos through and what a head-only retrain's file is built on."""
    if features:
        return f"{sha256}.features.onnx"
    return f"{sha256}.int8.onnx" if int8 else f"{sha256}.onnx"


def cache_folder() -> Path:
    from assistant import paths
    return paths.cache_dir() / ONNX_FOLDER


def candidates(checkpoint: Path, sha256: str, int8: bool = False, features: bool = False) -> list[Path]:
    """Where an ONNX file of this checkpoint may already lie, in the order they are tried."""
    name = onnx_name(sha256, int8, features)
    return [checkpoint.parent / ONNX_FOLDER / name, cache_folder() / name]


def stamped_sha(onnx_path: Path) -> str | None:
    """The checkpoint SHA-256 stamped inside an ONNX file, or None when it cannot be read.

    Read straight from the protobuf (ModelProto.metadata_props, field 14) rather than with
    the onnx package, whose import alone takes seconds (ml_dtypes) in the app's start-up."""
    try:
        return _metadata_props(memoryview(onnx_path.read_bytes())).get("checkpoint_sha256")
    except (OSError, ValueError, IndexError) as exc:  # a damaged file is rebuilt, never trusted
        log.warning("%s: unreadable ONNX file (%s)", onnx_path, exc)
        return None


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7
        if shift > 63:
            raise ValueError("bad varint")


def _fields(data: bytes):
    """(field number, wire type, value or bytes) of one protobuf message, top level only."""
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
            yield number, wire, value
        elif wire == 2:
            size, i = _varint(data, i)
            if i + size > len(data):
                raise ValueError("truncated")
            yield number, wire, data[i:i + size]
            i += size
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _metadata_props(data: memoryview) -> dict[str, str]:
    props = {}
    for number, wire, value in _fields(data):
        if number == 14 and wire == 2:  # StringStringEntryProto: key = 1, value = 2
            entry = {n: v for n, w, v in _fields(value) if w == 2}
            props[bytes(entry.get(1, b"")).decode()] = bytes(entry.get(2, b"")).decode()
    if not props and data[:1] != b"\x08":  # an ONNX file starts with its ir_version
        raise ValueError("not an ONNX file")
    return props


def remove_orphans(folder: Path, checkpoints: list[Path]) -> list[Path]:
    """Delete the ONNX files in folder made from none of these checkpoints (exports of earlier
    versions of them); returns what was deleted."""
    alive = {file_sha256(c) for c in checkpoints}
    removed = []
    for old in folder.glob("*.onnx"):
        if old.name.split(".")[0] not in alive:
            old.unlink(missing_ok=True)
            removed.append(old)
    return removed


def find_onnx(checkpoint: str | os.PathLike, int8: bool = False, sha256: str | None = None,
              features: bool = False) -> Path | None:
    """An existing ONNX file made from exactly this checkpoint, else None (damaged or stale
    files in the cache are deleted so that they are rebuilt)."""
    checkpoint = Path(checkpoint)
    sha256 = sha256 or file_sha256(checkpoint)
    for path in candidates(checkpoint, sha256, int8, features):
        if not path.is_file():
            continue
        if stamped_sha(path) == sha256:
            return path
        log.warning("%s does not belong to %s; it will be rebuilt", path, checkpoint)
        if path.parent == cache_folder():
            path.unlink(missing_ok=True)
    return None
