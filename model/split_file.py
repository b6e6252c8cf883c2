"""The one reader and writer of split files: a CSV with the columns path,split (train, val or
test), one row a photo. Paths are as written: relative to the data folder's parent, to the data
folder, or absolute. Training reads one to keep fold 0 out; every retrain records it so that
the old products' test photos stay held out; the scripts lay held-out folders out from it.
"""
from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import DataError
from assistant.files import atomic_write_text

SPLITS = ("train", "val", "test")
COLUMNS = ("path", "split")


@dataclass(frozen=True)
class SplitFile:
    path: Path
    rows: tuple[tuple[str, str], ...]  # (path as written, split)

    @classmethod
    def read(cls, path: str | os.PathLike) -> SplitFile:
        """DataError, naming the file, when it cannot be read or lacks the columns path,split."""
        path = Path(path)
        try:
            with open(path, newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise DataError(f"{path}: cannot read the split file ({reason})") from exc
        if not rows or not set(COLUMNS) <= set(rows[0]):
            raise DataError(f"{path}: a split file needs the columns path,split")
        return cls(path, tuple((r["path"] or "", (r["split"] or "").strip()) for r in rows))

    @staticmethod
    def write(path: str | os.PathLike, rows: Iterable[tuple[str | os.PathLike, str]]) -> Path:
        """Write (atomically) one row per (photo path, split)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(COLUMNS)
        for p, split in rows:
            if split not in SPLITS:
                raise ValueError(f"unknown split {split!r} (use train, val or test)")
            w.writerow([str(p), split])
        atomic_write_text(path, buf.getvalue())
        return Path(path)

    def where(self, root: str | os.PathLike) -> dict[str, str]:
        """{path: split}, every row under each reading of its path (as written, under root and
        under root's parent), resolved when absolute."""
        root = Path(root).resolve()
        out = {}
        for written, split in self.rows:
            p = Path(written)
            for cand in (p, root / p, root.parent / p):
                out[str(cand.resolve()) if cand.is_absolute() else str(cand)] = split
        return out

    def by_name(self) -> dict[tuple[str, str], str]:
        """{(product folder, file name): split}: the marks still apply when the photos have
        moved to another folder."""
        return {(Path(p).parent.name, Path(p).name): split for p, split in self.rows}

    def by_class(self, split: str, root: str | os.PathLike) -> dict[str, list[Path]]:
        """Product folder name -> its photos in `split`, paths read under root (the folder the
        rows are relative to: the data folder's parent for the project's split files)."""
        out: dict[str, list[Path]] = {}
        for written, s in self.rows:
            if s == split:
                p = Path(root) / written
                out.setdefault(p.parent.name, []).append(p)
        return out
