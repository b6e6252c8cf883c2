"""Features of photos under a frozen network, computed once and cached on disk.

Fast retraining only fits the head (or the upper blocks and the head) on these, so a photo's
trip through the frozen part of the network is paid once. Two levels: "pooled" (what the head
reads: everything but the head is frozen) and "lower" (the output of the lower blocks, the
input of the upper ones: what `--adapt upper` trains on). The cache is keyed by the frozen
weights' SHA-256 and the preprocessing (so a fast-retrained model, whose frozen part is the
same, reuses its predecessor's cache), then by each photo's path, size and mtime and the view:
the photo, its mirror image, or one of the random crops ("crop1", ...: random resized crop,
small rotation, mirror and colour jitter, model.augment's default policy, seeded by the view
and the photo's key, so a view is the same picture whenever it is computed). One .npz per
photo folder, replaced atomically.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from assistant import paths
from assistant.files import atomic_write
from assistant.inference.architectures import architecture
from assistant.inference.checkpoint import Checkpoint, weights_digest
from assistant.inference.vision import ImageError, fit_square, load_image, single_picture, to_chw
from assistant.store.timings import UPPER_VIEWS

log = logging.getLogger(__name__)
VIEWS = ("photo", "mirror")
BATCH = 32
#: the random crops cached for `--adapt upper`, besides the photo and its mirror image (81
#: GroceryStore products, 5 passes: one crop 86.1% on val, four (six views) 87.8% in 8 passes,
#: eight 82.4% against four's 82.1% in an earlier trial: docs/retraining.md)
CROPS = UPPER_VIEWS - len(VIEWS)


@contextmanager
def one_thread():
    """torch on one thread for a while, for work of many small operations: on a busy CPU each
    one of a two-thread pool waits for its second thread's core. L-BFGS's steps on a head
    (head.fit_head): 6 ms a dot product of 33,000 weights under load 4 (18.6 s of 3,120); the
    random crops of `--adapt upper`'s views (FeatureCache.view), one picture at a time: 5.6 ms
    a picture quiet, 7 ms on one thread under load 3.5, 8-13 ms on two sleeping threads."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class Cancelled(Exception):
    """The user asked to stop; nothing was written in place of the model."""


@dataclass
class Meter:
    """What this process has read through networks, and how long it took (decoding and the
    cache's writes included), and the seconds of `--adapt upper`'s passes: the phases that
    assistant.store.timings turns into this computer's speed. One process runs one retrain (the
    maintainer's child, `main.py retrain`); whoever runs several resets it between them."""

    views: int = 0
    seconds: float = 0.0
    upper_seconds: float = 0.0
    upper_photos: int = 0

    def reset(self) -> None:
        self.views, self.seconds, self.upper_seconds, self.upper_photos = 0, 0.0, 0.0, 0


METER = Meter()


def crop_views(n: int = CROPS) -> tuple[str, ...]:
    """The views `--adapt upper` learns from: the photo, its mirror image and n random crops."""
    return (*VIEWS, *(f"crop{i}" for i in range(1, n + 1)))


def split_network(model: nn.Module, arch: str) -> tuple[Callable, Callable]:
    """(lower, upper): lower(x) is the output of the lower blocks, upper(lower(x)) the pooled
    features the head reads; upper holds every weight fast mode may adapt besides the head."""
    return architecture(arch).split(model)


def frozen_digest(ckpt: Checkpoint, level: str, model: nn.Module | None = None) -> str:
    """SHA-256 of the weights that shape the cached features at `level` ("pooled": all but the
    head; "lower": all but the head and the upper blocks) plus the preprocessing."""
    arch = architecture(ckpt.architecture)
    head = arch.head + "."
    upper = arch.upper_prefixes(model if model is not None else ckpt.network()) \
        if level == "lower" else ()
    keep = {k: v for k, v in ckpt.state_dict.items()
            if not k.startswith(head) and not (upper and k.startswith(upper))}
    extra = json.dumps([ckpt.architecture, single_picture(ckpt.meta["preprocessing"]), level], sort_keys=True)
    return hashlib.sha256((weights_digest(keep) + extra).encode()).hexdigest()


class FeatureCache:
    """A checkpoint's frozen network, with a disk cache of what it makes of each photo."""

    def __init__(self, ckpt: Checkpoint, device: torch.device, level: str = "pooled") -> None:
        self.ckpt, self.device, self.level = ckpt, device, level
        self.prep = ckpt.preprocessing
        self.model = ckpt.network(device)
        self.lower, self.upper = split_network(self.model, ckpt.architecture)
        from model.evaluate import use_bf16
        self.bf16 = level == "lower" and use_bf16(device)
        self.folder = paths.cache_dir() / "features" / frozen_digest(ckpt, level, self.model)[:24]
        self._session = None  # ONNX Runtime on the features file, made on first use

    def _onnx(self):
        """ONNX Runtime on the checkpoint's features file, or on its lower blocks at the cache's
        size, on a CPU: pooled features 2.6x PyTorch's eager network for 32 photos and their
        mirror images, decoding included (docs/retraining.md, "One product live in seconds");
        the lower blocks 3.4x its bf16 autocast, in fp32. Made once per model (the bundled
        features files by set-up). False where it does not apply (a GPU; pooled features of a
        checkpoint resized in memory) or cannot be made."""
        if self._session is None:
            self._session = False
            try:
                path = self._onnx_file() if self.device.type == "cpu" else None
                if path is not None:
                    import onnxruntime as ort

                    from assistant.inference.onnx_backend import session_options
                    self._session = ort.InferenceSession(str(path), session_options(None),
                                                         providers=["CPUExecutionProvider"])
            except Exception as exc:  # noqa: BLE001 - PyTorch computes the same features
                log.warning("features through PyTorch: no ONNX file of %s (%s)", self.ckpt.path, exc)
        return self._session

    def _onnx_file(self) -> Path | None:
        from assistant.inference import export
        if self.level == "lower":
            return export.ensure_lower_onnx(self.folder / "lower.onnx", self.model, self.lower, self.prep.size)
        path = self.ckpt.path
        if path is not None and Path(path).is_file() and self.prep.size == read_size(path):
            return export.ensure_features_onnx(path)
        return None

    @torch.inference_mode()
    def compute(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 (or float in [0, 1]) N x 3 x S x S -> float32 features on the CPU. Pooled
        features in float32 (the head is fitted on them as they are); the lower blocks' maps,
        stored as float16 anyway, through ONNX Runtime on a CPU (_onnx), else in bf16 autocast
        where the device computes bf16 natively (model.evaluate.use_bf16)."""
        session = self._onnx()
        if session:
            x = self.prep.normalize(batch).float().contiguous().numpy()
            return torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x})[0])
        x = self.prep.normalize(batch.to(self.device)).contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            out = self.lower(x)
        if self.level == "pooled":
            out = self.upper(out)
        return out.float().cpu()

    def view(self, batch: torch.Tensor, view: str, keys: list[str]) -> torch.Tensor:
        """The pictures of one view of a uint8 S x S batch: as they are, mirrored (uint8), or a
        random crop seeded by the view and each photo's key (float in [0, 1], model.augment's)."""
        if view == "photo":
            return batch
        if view == "mirror":
            return batch.flip(-1)
        from model.augment import POLICIES, augment
        out = []
        with one_thread():
            for picture, key in zip(batch, keys, strict=True):
                seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
                gen = torch.Generator().manual_seed(seed)
                out.append(augment(picture[None], POLICIES["default"], self.prep.size, gen)[0])
        return torch.stack(out)

    def features(self, files: list[Path], views: tuple[str, ...] = ("photo",),
                 step: Callable[[], None] | None = None, cancelled: Callable[[], bool] | None = None
                 ) -> tuple[torch.Tensor, list[bool], list[str]]:
        """(N x V x ... features, ok flags, reasons for failures) for files and views: float32,
        or float16 at the "lower" level (maps, several times larger than pooled features).
        step() is called after each batch computed; cancelled() is checked before each."""
        keys = [[_photo_key(f, v) for v in views] for f in files]
        found: dict[str, np.ndarray | str] = {}
        by_folder: dict[Path, list[int]] = {}
        for i, f in enumerate(files):
            by_folder.setdefault(Path(f).parent, []).append(i)
        for folder in by_folder:
            found.update(self._load(folder))
        todo = [i for i, ks in enumerate(keys) if any(k not in found for k in ks)]
        for start in range(0, len(todo), BATCH):
            if cancelled is not None and cancelled():
                raise Cancelled()
            chunk = todo[start:start + BATCH]
            began = time.perf_counter()
            pictures, good = [], []
            for i in chunk:
                try:
                    pictures.append(fit_square(load_image(files[i]), self.prep.size))
                    good.append(i)
                except ImageError as exc:
                    for k in keys[i]:
                        found[k] = str(exc).split(": ", 1)[-1]
            if pictures:
                batch = torch.stack([to_chw(p) for p in pictures])
                for v, view in enumerate(views):
                    out = self.compute(self.view(batch, view, [keys[i][v] for i in good]))
                    for row, i in enumerate(good):
                        found[keys[i][v]] = out[row].numpy().astype(np.float16)
            self._save_some(files, keys, found, chunk)
            METER.views += len(good) * len(views)
            METER.seconds += time.perf_counter() - began
            if step is not None:
                step()
        ok = [all(not isinstance(found.get(k), str) for k in ks) for ks in keys]
        reasons = [next((found[k] for k in ks if isinstance(found.get(k), str)), "") for ks in keys]
        shape = next((found[k].shape for ks, good in zip(keys, ok, strict=True) if good for k in ks), (0,))
        dtype = torch.float16 if self.level == "lower" else torch.float32
        out = torch.zeros((len(files), len(views), *shape), dtype=dtype)
        for i, (ks, good) in enumerate(zip(keys, ok, strict=True)):
            if good:
                out[i] = torch.from_numpy(np.stack([found[k] for k in ks])).to(dtype)
        return out, ok, reasons

    def batches_needed(self, files: list[Path], views: tuple[str, ...]) -> int:
        return -(-self.missing(files, views) // BATCH)

    def missing(self, files: list[Path], views: tuple[str, ...]) -> int:
        """How many of files are not cached in all views (each is read in all of them)."""
        found: set[str] = set()
        for folder in {Path(f).parent for f in files}:
            found.update(self._load(folder))
        return sum(1 for f in files if any(_photo_key(f, v) not in found for v in views))

    # --- the store: one .npz per photo folder -------------------------------------------
    def _store_path(self, folder: Path) -> Path:
        name = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:24]
        return self.folder / f"{name}.npz"

    def _load(self, folder: Path) -> dict[str, np.ndarray | str]:
        store = self._store_path(folder)
        if not store.is_file():
            return {}
        try:
            with np.load(store, allow_pickle=False) as z:
                keys, feats, reasons = list(z["keys"]), z["features"], list(z["reasons"])
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring a damaged feature cache %s (%s)", store, exc)
            return {}
        return {str(k): (str(r) if r else feats[i]) for i, (k, r) in enumerate(zip(keys, reasons, strict=True))}

    def _save_some(self, files, keys, found, chunk) -> None:
        for folder in {Path(files[i]).parent for i in chunk}:
            known = self._load(folder)
            for i, f in enumerate(files):
                if Path(f).parent == folder:
                    for k in keys[i]:
                        if k in found:
                            known[k] = found[k]
            self._write(folder, known)

    def _write(self, folder: Path, known: dict[str, np.ndarray | str]) -> None:
        arrays = [v for v in known.values() if not isinstance(v, str)]
        shape = arrays[0].shape if arrays else (0,)
        feats = np.zeros((len(known), *shape), dtype=np.float16)
        reasons = []
        for i, v in enumerate(known.values()):
            if isinstance(v, str):
                reasons.append(v)
            else:
                feats[i] = v
                reasons.append("")
        store = self._store_path(folder)
        try:
            with atomic_write(store, suffix=".npz") as tmp:
                np.savez(tmp, keys=np.array(list(known), dtype=str), features=feats,
                         reasons=np.array(reasons, dtype=str))
        except OSError as exc:
            log.warning("cannot write the feature cache: %s", exc)


def read_size(path) -> int | None:
    from assistant.inference.checkpoint import read_metadata
    return read_metadata(path)["preprocessing"].get("size")


def _photo_key(path: Path, view: str) -> str:
    path = Path(path)
    try:
        st = path.stat()
        return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{view}"
    except OSError:
        return f"{path}|missing|{view}"
