"""The maintainer's product library: products, their spoken names and photos. No Qt.

It lives in the user data folder as a training folder (one sub-folder of photos per product,
named by the product id) plus classes.csv (class,english,spanish) and library.json, so
`retrain --data <library folder>` reads it as is. Photos arrive from a folder (unreadable or
odd files are skipped and listed) or from the webcam (dark or blurred frames are rejected on
the spot). Every photo is stored re-encoded as JPEG under a name taken from its pixels, so the
same photo imported twice is kept once.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from assistant import paths
from assistant.catalog import localized
from assistant.errors import UserError
from assistant.files import (
    MIN_PHOTOS,
    PHOTO_SUFFIXES,
    atomic_write_bytes,
    atomic_write_text,
    case_twin,
    is_product_id,
)
from assistant.inference.vision import ImageError, brightness, load_image, sharpness

log = logging.getLogger(__name__)

#: the fewest photos a product needs before it can be taught (a few are held out to check it)
# Thresholds measured on real shop photos (GroceryStore, Freiburg): their brightness is above 70
# and their sharpness (variance of the Laplacian at 224 px) above 100 in 99% of cases, while a
# Gaussian blur of sigma 3 brings sharpness under 25.
DARK = 45.0
BRIGHT = 235.0
BLURRED = 40.0
#: frames closer than this (mean absolute difference of 32 px colour thumbnails) to the last kept one
#: are the product not yet turned: they add nothing
SAME_FRAME = 3.0
MIN_SIDE = 32


class LibraryError(UserError, ValueError):
    """A library operation that cannot be done; str() is a sentence for the user."""


@dataclass(frozen=True)
class Product:
    id: str
    names: dict[str, str]
    photos: int

    def name(self, language: str = "en") -> str:
        return localized(self.names, language)


@dataclass
class ImportReport:
    added: list[Path] = field(default_factory=list)
    duplicates: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)


@dataclass(frozen=True)
class FrameVerdict:
    ok: bool
    reason: str  # "ok", "dark", "bright", "blurred", "same"
    brightness: float
    sharpness: float
    path: Path | None = None


def judge_frame(rgb: np.ndarray) -> tuple[str, float, float]:
    """("ok" | "dark" | "bright" | "blurred", brightness, sharpness) of a webcam frame."""
    b, s = brightness(rgb), sharpness(rgb)
    if b < DARK:
        return "dark", b, s
    if b > BRIGHT:
        return "bright", b, s
    if s < BLURRED:
        return "blurred", b, s
    return "ok", b, s


def odd_photo(rgb: np.ndarray) -> str | None:
    """Why an imported photo is unfit to learn from, or None. Looser than judge_frame: a shop
    photo may be dim, but not a thumbnail, a strip, or a blank frame."""
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        return f"too small ({w}x{h} pixels)"
    if max(h, w) > 4 * min(h, w):
        return f"odd shape ({w}x{h} pixels)"
    b = brightness(rgb)
    if b < 12:
        return "almost entirely black"
    if b > 248 or sharpness(rgb) < 2.0:
        return "blank (no detail)"
    return None


def _check_name(name: str) -> None:
    if not name.isprintable():
        raise LibraryError(f"a product's name cannot hold line breaks or control characters: {name!r}",
                           message_id="err_name_control", name=repr(name))


def slug(text: str) -> str:
    """A product id from a name: 'Café con leche' -> 'cafe_con_leche'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:60]


class Library:
    """The products a maintainer has added. Not thread-safe: one user edits it at a time."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root else paths.data_dir() / "products"
        self.root.mkdir(parents=True, exist_ok=True)
        self._names: dict[str, dict[str, str]] = self._read_index()

    # --- reading ----------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        """The training folder (one sub-folder per product, classes.csv beside them)."""
        return self.root

    def products(self) -> list[Product]:
        return [self.get(pid) for pid in sorted(self._names)]

    def get(self, pid: str) -> Product:
        if not is_product_id(pid) or pid not in self._names:
            raise LibraryError(f"there is no product {pid!r} in the library",
                               message_id="err_no_product", pid=pid)
        return Product(pid, dict(self._names[pid]), len(self.photo_paths(pid)))

    def photo_paths(self, pid: str) -> list[Path]:
        folder = self.root / pid
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".jpg" and not p.name.startswith("."))

    def counts(self) -> dict[str, int]:
        return {p.id: p.photos for p in self.products()}

    def too_few(self, minimum: int = MIN_PHOTOS) -> list[Product]:
        return [p for p in self.products() if p.photos < minimum]

    # --- editing ----------------------------------------------------------------------
    def add(self, english: str, spanish: str, pid: str | None = None) -> Product:
        english, spanish = english.strip(), spanish.strip()
        if not english or not spanish:
            raise LibraryError("a product needs its name in English and in Spanish",
                               message_id="err_names_both")
        _check_name(english)
        _check_name(spanish)
        pid = slug(pid or english)
        if not pid:
            raise LibraryError(f"{english!r} gives no usable product id; use letters or digits",
                               message_id="err_no_usable_id", name=english)
        twin = case_twin(pid, self._names)
        if twin is not None:  # the same id, or one that differs only in capitals
            raise LibraryError(f"there is already a product {twin!r} ({self._names[twin]['en']})",
                               message_id="err_product_exists", pid=twin,
                               en=self._names[twin]["en"], es=self._names[twin]["es"])
        (self.root / pid).mkdir(parents=True, exist_ok=True)
        self._names[pid] = {"en": english, "es": spanish}
        self._save_index()
        return self.get(pid)

    def rename(self, pid: str, english: str | None = None, spanish: str | None = None) -> Product:
        """New spoken names; the id (what the model calls it) stays."""
        self.get(pid)
        for lang, value in (("en", english), ("es", spanish)):
            if value is not None:
                if not value.strip():
                    raise LibraryError("a product's name cannot be empty",
                                       message_id="err_name_empty")
                _check_name(value.strip())
                self._names[pid][lang] = value.strip()
        self._save_index()
        return self.get(pid)

    def merge(self, sources: list[str], into: str) -> Product:
        """Move the photos of `sources` into `into` and remove the sources."""
        self.get(into)
        for pid in sources:
            self.get(pid)
        for pid in sources:
            if pid == into:
                continue
            for photo in self.photo_paths(pid):
                target = self.root / into / photo.name
                if target.exists():
                    photo.unlink()  # the very same pixels are already there
                else:
                    shutil.move(str(photo), target)
            _remove_folder(self.root / pid)
            del self._names[pid]
        self._save_index()
        return self.get(into)

    def remove(self, pid: str) -> None:
        self.get(pid)
        _remove_folder(self.root / pid)
        del self._names[pid]
        self._save_index()

    def remove_photo(self, pid: str, photo: Path) -> None:
        if Path(photo).parent.resolve() != (self.root / pid).resolve():
            raise LibraryError(f"{photo} is not a photo of {pid}", message_id="err_not_photo_of",
                               photo=str(photo), pid=pid)
        Path(photo).unlink(missing_ok=True)

    # --- photos -----------------------------------------------------------------------
    def import_folder(self, pid: str, folder: str | Path, progress=None) -> ImportReport:
        """Copy every readable photo under folder (sub-folders too) into the product.
        progress(done, total), if given, is called after each file."""
        self.get(pid)
        folder = Path(folder)
        if not folder.is_dir():
            raise LibraryError(f"{folder}: no such folder", message_id="err_no_folder",
                               folder=str(folder))
        files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        report = ImportReport()
        for i, file in enumerate(files):
            if file.suffix.lower() not in PHOTO_SUFFIXES:
                report.skipped.append((str(file), "not a photo (unknown file type)"))
            else:
                try:
                    rgb = load_image(file)
                    why = odd_photo(rgb)
                    if why:
                        report.skipped.append((str(file), why))
                    else:
                        path, new = self._store(pid, rgb)
                        if new:
                            report.added.append(path)
                        else:
                            report.duplicates += 1
                except ImageError as exc:
                    report.skipped.append((str(file), str(exc).split(": ", 1)[-1]))
                except OSError as exc:
                    report.skipped.append((str(file), f"cannot copy ({exc.strerror or exc})"))
            if progress is not None:
                progress(i + 1, len(files))
        for path, why in report.skipped:
            log.info("import skipped %s: %s", path, why)
        return report

    def add_frame(self, pid: str, rgb: np.ndarray, previous: np.ndarray | None = None) -> FrameVerdict:
        """Keep one webcam frame unless it is dark, over-exposed, blurred, or the same view as
        `previous` (the last frame kept)."""
        self.get(pid)
        reason, b, s = judge_frame(rgb)
        if reason == "ok" and previous is not None and frame_difference(rgb, previous) < SAME_FRAME:
            reason = "same"
        if reason != "ok":
            return FrameVerdict(False, reason, b, s)
        path, _ = self._store(pid, rgb)
        return FrameVerdict(True, "ok", b, s, path)

    def _store(self, pid: str, rgb: np.ndarray) -> tuple[Path, bool]:
        digest = hashlib.sha256(np.ascontiguousarray(rgb).tobytes()).hexdigest()[:20]
        target = self.root / pid / f"{digest}.jpg"
        if target.exists():
            return target, False
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format="JPEG", quality=92)
        atomic_write_bytes(target, buffer.getvalue())
        return target, True

    # --- index ------------------------------------------------------------------------
    def _read_index(self) -> dict[str, dict[str, str]]:
        index = self.root / "library.json"
        names: dict[str, dict[str, str]] = {}
        if index.is_file():
            try:
                data = json.loads(index.read_text(encoding="utf-8"))
                for pid, entry in data.get("products", {}).items():
                    en, es = entry.get("en"), entry.get("es")
                    if not is_product_id(pid) or case_twin(pid, names):
                        log.warning("ignoring the product id %r in %s", pid, index)
                        continue
                    if all(isinstance(n, str) and n.strip() and n.isprintable() for n in (en, es)):
                        names[pid] = {"en": en, "es": es}
            except (OSError, ValueError, AttributeError) as exc:
                log.warning("cannot read %s (%s); rebuilding it from the folders", index, exc)
        # a folder without an entry (index lost, or photos copied in by hand) is still a product
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or folder.name.startswith(".") or folder.name in names:
                continue
            if not is_product_id(folder.name) or case_twin(folder.name, names):
                log.warning("ignoring the folder %r in %s: not a product id, or one that differs "
                            "only in capitals from another", folder.name, self.root)
                continue
            spoken = folder.name.replace("_", " ")
            names[folder.name] = {"en": spoken, "es": spoken}
        return names

    def _save_index(self) -> None:
        data = {"products": {pid: self._names[pid] for pid in sorted(self._names)}}
        atomic_write_text(self.root / "library.json", json.dumps(data, indent=1, ensure_ascii=False))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["class", "english", "spanish"])
        for pid in sorted(self._names):
            writer.writerow([pid, self._names[pid]["en"], self._names[pid]["es"]])
        atomic_write_text(self.root / "classes.csv", buffer.getvalue())


def _remove_folder(folder: Path) -> None:
    """A product's folder gone. A symlink (photos kept elsewhere, linked in by hand) is
    unlinked: rmtree refuses links, and a link left behind brings the product back at the next
    start; the photos it points to are the user's and stay. A folder that cannot be removed is
    an OSError, not a silent leftover."""
    if folder.is_symlink():
        folder.unlink()
    elif folder.exists():
        shutil.rmtree(folder)


def frame_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two frames' 32 px colour thumbnails (0..255)."""
    def thumb(x: np.ndarray) -> np.ndarray:
        return cv2.resize(x, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    return float(np.abs(thumb(a) - thumb(b)).mean())


class CaptureSession:
    """Webcam capture policy (the window only supplies frames and a clock): a spoken countdown,
    then a frame every `interval` seconds while the product is turned, until `target` photos
    are kept or `limit` seconds pass. Each offer() says what happened, for speech."""

    def __init__(self, library: Library, pid: str, target: int = 30, interval: float = 0.3,
                 countdown: int = 3, limit: float = 60.0) -> None:
        self.library, self.pid = library, pid
        self.target, self.interval, self.countdown, self.limit = target, interval, countdown, limit
        self.kept: list[Path] = []
        self.rejected: dict[str, int] = {}
        self._last: np.ndarray | None = None

    def countdown_words(self) -> list[str]:
        return [str(n) for n in range(self.countdown, 0, -1)]

    @property
    def done(self) -> bool:
        return len(self.kept) >= self.target

    def offer(self, rgb: np.ndarray) -> FrameVerdict:
        verdict = self.library.add_frame(self.pid, rgb, self._last)
        if verdict.ok:
            self.kept.append(verdict.path)
            self._last = rgb
        else:
            self.rejected[verdict.reason] = self.rejected.get(verdict.reason, 0) + 1
        return verdict

    def milestone(self) -> bool:
        """True right after every 5th kept photo (the moment to speak the count)."""
        return bool(self.kept) and len(self.kept) % 5 == 0
