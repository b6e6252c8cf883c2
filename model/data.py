"""Photo folders -> preloaded uint8 tensors, with a report of what was skipped; splits.

A data folder holds one sub-folder per product. Every photo is decoded once through
assistant.inference.vision (the same crop and resize the app uses) and kept as uint8, so training
costs no decoding after the first pass, and a cache makes the next run start at once.
"""
from __future__ import annotations

import hashlib
import logging
import os
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant import paths
from assistant.errors import DataError
from assistant.files import MIN_PHOTOS, atomic_write, case_twin, is_product_id
from assistant.inference.vision import ImageError, fit_square, load_image
from model.split_file import SplitFile

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)


@dataclass
class PhotoSet:
    images: torch.Tensor            # N x 3 x S x S uint8
    labels: torch.Tensor            # N int64 (-1 = unlabelled)
    classes: list[str]
    paths: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def subset(self, index: list[int] | torch.Tensor) -> PhotoSet:
        import torch
        idx = torch.as_tensor(index, dtype=torch.long)
        return PhotoSet(self.images[idx], self.labels[idx], self.classes,
                        [self.paths[i] for i in idx.tolist()], [])

    def __len__(self) -> int:
        return len(self.paths)


def scan_folder(root: str | os.PathLike) -> tuple[list[str], list[tuple[Path, str]]]:
    """(sorted class ids, [(file, class id)]) for a folder of one sub-folder per class."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    try:
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as exc:
        raise DataError(f"{root}: cannot read the folder ({exc.strerror})") from exc
    if not folders:
        raise DataError(f"{root}: no product sub-folders (expected one folder per product)")
    bad = [f.name for f in folders if not is_product_id(f.name)]
    if bad:
        raise DataError(f"{root}: these folder names cannot be product ids: "
                        f"{', '.join(repr(b) for b in bad)} (use letters, digits, _ - . only)")
    twins = [f"{twin} / {f.name}" for i, f in enumerate(folders)
             if (twin := case_twin(f.name, [g.name for g in folders[:i]]))]
    if twins:
        raise DataError(f"{root}: product folders that differ only in capitals: {', '.join(twins)}")
    samples = []
    for folder in folders:
        for file in sorted(folder.rglob("*")):
            if file.is_file() and not file.name.startswith("."):
                samples.append((file, folder.name))
    return [f.name for f in folders], samples


def refuse_too_few(counts: dict[str, int], min_per_class: int, what: str = "readable photos",
                   unit: str = "photos") -> None:
    """DataError naming every product with fewer than min_per_class (counts: product -> how
    many `unit`)."""
    few = [f"{c} ({n} {unit})" for c, n in counts.items() if n < min_per_class]
    if few:
        raise DataError(f"too few {what} (at least {min_per_class} needed) for: {', '.join(few)}")


def check_photo_counts(root: str | os.PathLike, min_per_class: int = MIN_PHOTOS) -> None:
    """scan_folder's check, and no product with fewer than min_per_class files: what training
    would refuse after reading them, said before torch is imported (a product with too few
    files has too few readable photos; every file counts, so none is refused that could pass)."""
    classes, samples = scan_folder(root)
    files = Counter(c for _, c in samples)
    refuse_too_few({c: files.get(c, 0) for c in classes}, min_per_class, "photos", "files")


def load_photos(files: list[Path], size: int, workers: int | None = None
                ) -> tuple[np.ndarray, list[bool], list[str]]:
    """Decode files to N x S x S x 3 uint8; (array, ok flags, reasons for failures)."""
    out = np.zeros((len(files), size, size, 3), dtype=np.uint8)
    ok = [False] * len(files)
    reasons = [""] * len(files)

    def work(i: int) -> None:
        try:
            out[i] = fit_square(load_image(files[i]), size)
            ok[i] = True
        except ImageError as exc:
            reasons[i] = str(exc).split(": ", 1)[-1]
        except Exception as exc:  # never let one odd file stop a run
            reasons[i] = f"unexpected error: {exc}"

    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
        list(pool.map(work, range(len(files))))
    return out, ok, reasons


def load_folder(root: str | os.PathLike, size: int = 224, classes: list[str] | None = None,
                min_per_class: int = MIN_PHOTOS, use_cache: bool = True,
                labelled: bool = True) -> PhotoSet:
    """Load a folder-per-class set. classes fixes the label order (e.g. a model's classes)."""
    found, samples = scan_folder(root)
    if classes is None:
        classes = found
    if labelled:
        unknown = sorted(set(found) - set(classes))
        if unknown:
            raise DataError(f"{root}: folders not among the model's products: {', '.join(unknown)}")
    files = [f for f, _ in samples]
    cache = _cache_path(files, size) if use_cache else None
    if cache is not None and cache.exists():
        with np.load(cache) as z:
            arr, ok_arr, reasons = z["images"], z["ok"], list(z["reasons"])
        ok = ok_arr.tolist()
    else:
        arr, ok, reasons = load_photos(files, size)
        if cache is not None:
            _save_cache(cache, arr, ok, reasons)
    keep = [i for i, good in enumerate(ok) if good]
    skipped = [(str(files[i]), reasons[i]) for i, good in enumerate(ok) if not good]
    for path, why in skipped:
        log.warning("skipped %s: %s", path, why)
    index = {c: i for i, c in enumerate(classes)}
    labels = [index[samples[i][1]] if labelled else -1 for i in keep]
    if labelled:
        counts = Counter(labels)
        refuse_too_few({c: counts.get(index[c], 0) for c in found}, min_per_class)
    import torch  # here, not above: `train` checks its folder with scan_folder before torch loads
    images = torch.from_numpy(arr[keep]).permute(0, 3, 1, 2).contiguous()
    return PhotoSet(images, torch.tensor(labels, dtype=torch.long), list(classes),
                    [str(files[i]) for i in keep], skipped)


def _cache_path(files: list[Path], size: int) -> Path | None:
    digest = hashlib.sha256(str(size).encode())
    for f in files:
        try:
            st = f.stat()
        except OSError:
            return None
        digest.update(f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return paths.cache_dir() / "photos" / f"{digest.hexdigest()[:24]}.npz"


def _save_cache(cache: Path, arr: np.ndarray, ok: list[bool], reasons: list[str]) -> None:
    try:
        with atomic_write(cache, suffix=".npz") as tmp:
            np.savez(tmp, images=arr, ok=np.array(ok), reasons=np.array(reasons))
    except OSError as exc:
        log.warning("cannot write the photo cache: %s", exc)


def stratified_split(labels: list[int], fractions: tuple[float, ...], seed: int) -> list[list[int]]:
    """Deterministic stratified split of indices into len(fractions) parts (fractions sum to 1)."""
    rng = random.Random(seed)
    by_class: dict[int, list[int]] = {}
    for i, y in enumerate(labels):
        by_class.setdefault(y, []).append(i)
    parts: list[list[int]] = [[] for _ in fractions]
    for y in sorted(by_class):
        idx = by_class[y]
        rng.shuffle(idx)
        n = len(idx)
        bounds = np.cumsum([0] + [round(f * n) for f in fractions[:-1]])
        bounds = [min(int(b), n) for b in bounds] + [n]
        # every non-empty part gets at least one photo of each class when it can
        for k in range(len(fractions)):
            parts[k].extend(idx[bounds[k]:bounds[k + 1]])
    return [sorted(p) for p in parts]


def read_split_file(path: str | os.PathLike, data: PhotoSet, root: str | os.PathLike) -> dict[str, list[int]]:
    """Indices of data's photos in each split of a split file (model.split_file); photos it does
    not name are left out."""
    split_file = SplitFile.read(path)
    where = split_file.where(root)
    out: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for i, p in enumerate(data.paths):
        split = where.get(str(Path(p).resolve()))
        if split in out:
            out[split].append(i)
        elif split is not None:
            raise DataError(f"{path}: unknown split {split!r} (use train, val or test)")
    if not out["train"]:
        raise DataError(f"{path}: names no training photo found under {Path(root).resolve()}")
    return out


def write_split_file(path: str | os.PathLike, data: PhotoSet, parts: dict[str, list[int]]) -> None:
    SplitFile.write(path, ((data.paths[i], name) for name, idx in parts.items() for i in idx))
