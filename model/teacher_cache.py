"""The teacher's answers, computed once ahead of a distillation.

For every photo of the training pool, `views` seeded augmented views (model.augment.seeded_views:
a view is its seed, its photo's index and its own index) and the teacher's log-probabilities on
each are kept in one safetensors file in the user data folder. The student's loop renders the
same views again from their seeds, at its own size, and learns from these answers, so an epoch
costs the student's step alone instead of a teacher forward pass per view (20+ minutes an epoch
on two cores). Building the file resumes where it stopped.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from assistant.files import atomic_write
from model.augment import AugmentPolicy, render, seeded_views
from model.callbacks import TrainCallback
from model.teacher import Teacher

log = logging.getLogger(__name__)

CACHE_FORMAT = 2  # 2: the key leaves out the view count, the file keeps per-view progress
#: the partial file is written at most this often while the cache is built
SAVE_EVERY_S = 120.0


@dataclass
class TeacherCache:
    """log_probs: photos x views x classes (float16), the teachers' mean softmax at T = 1.
    symmetric: the teachers average each picture with its mirror image, so a view's mirror
    image has the very same answer and the student may see either (twice the views, free)."""
    log_probs: torch.Tensor
    seed: int
    policy: AugmentPolicy
    symmetric: bool = False

    @property
    def views(self) -> int:
        return self.log_probs.shape[1]

    def draws(self, photos: torch.Tensor, views: torch.Tensor) -> torch.Tensor:
        return seeded_views(self.seed, photos, views)

    def render(self, images: torch.Tensor, photos: torch.Tensor, views: torch.Tensor, size: int) -> torch.Tensor:
        """images: the uint8 pool rows of `photos`; returns their views at `size`."""
        return render(images, self.draws(photos, views), self.policy, size)

    def targets(self, photos: torch.Tensor, views: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """The teachers' probabilities on these views, softened by the temperature."""
        lp = self.log_probs[photos.cpu(), views.cpu()].float()
        return torch.softmax(lp / temperature, dim=1)


def cache_key(images: torch.Tensor, teacher: Teacher, classes: list[str], seed: int,
              policy: AugmentPolicy, views: int | None = None) -> str:
    """Everything the answers depend on: the pool's pixels, the teachers' files, the products'
    order, the seed and the augmentation. Not the number of views: view v of photo p is the same
    view whatever the count (model.augment.seeded_views), so a cache grows by views.
    views: the key of a first-format file, which held exactly that many."""
    from assistant.inference.onnx_files import file_sha256

    fields = {"format": CACHE_FORMAT if views is None else 1, "classes": classes, "seed": seed,
              "policy": policy.__dict__, "shape": list(images.shape),
              "teachers": [file_sha256(p) for p in teacher.paths]}
    if views is not None:
        fields["views"] = views
    h = hashlib.sha256()
    h.update(json.dumps(fields, sort_keys=True).encode())
    h.update(images.contiguous().numpy().tobytes())
    return h.hexdigest()


def default_path(key: str) -> Path:
    from assistant.paths import data_dir
    return data_dir() / "teacher-cache" / f"{key[:24]}.safetensors"


def build_cache(teacher: Teacher, images: torch.Tensor, classes: list[str], seed: int, views: int,
                policy: AugmentPolicy, path: Path | None = None, cb: TrainCallback | None = None,
                batch: int = 32) -> TeacherCache:
    """The cache for this pool with `views` views a photo, read from `path` as far as it goes,
    the rest computed (resuming a partial file, and growing a file of fewer views: only the new
    views are asked). images: the uint8 pool, N x 3 x S x S, in the training loop's order."""
    cb = cb or TrainCallback()
    key = cache_key(images, teacher, classes, seed, policy)
    path = Path(path) if path else default_path(key)
    n = len(images)
    log_probs, done = _read(path, key, n, len(classes))
    if not any(done):  # answers of the first format, kept under a key with their view count
        log_probs, done = _read_first_format(path.parent, images, teacher, classes, seed, policy)
    if len(done) < views:  # more views than kept: room for the new ones
        grown = torch.zeros((n, views, len(classes)), dtype=torch.float16)
        grown[:, :len(done)] = log_probs
        log_probs, done = grown, done + [0] * (views - len(done))
    if all(d >= n for d in done[:views]):
        cb.note("cache_ready", path=path, photos=n, views=views)
        return TeacherCache(log_probs[:, :views].clone(), seed, policy, teacher.symmetric)
    _fill(teacher, images, seed, policy, log_probs, done, views, path, key, cb, batch)
    return TeacherCache(log_probs[:, :views].clone(), seed, policy, teacher.symmetric)


def _fill(teacher: Teacher, images: torch.Tensor, seed: int, policy: AugmentPolicy,
          log_probs: torch.Tensor, done: list[int], views: int, path: Path, key: str,
          cb: TrainCallback, batch: int) -> None:
    """Ask the teacher for the (view, photo) pairs not answered yet, view by view; the file is
    written every SAVE_EVERY_S and on cancel, so a stop loses at most that much."""
    n = len(images)
    total, start_units = n * views, sum(min(d, n) for d in done[:views])
    cb.note("cache_building", path=path, photos=n, views=views, done=start_units // views)
    started = last_save = time.monotonic()
    units = start_units
    for v in range(views):
        for first in range(done[v], n, batch):
            if cb.cancelled():
                _write(path, key, log_probs, done)
                raise KeyboardInterrupt("the teacher's answers were being computed; run again to resume")
            idx = torch.arange(first, min(first + batch, n))
            view_ids = torch.full_like(idx, v)
            log_probs[idx, v] = answers(teacher, images[idx], seeded_views(seed, idx, view_ids),
                                        policy).half()
            done[v] = int(idx[-1]) + 1
            units += len(idx)
            cb.on_step(0, units, total, 0.0)
            if time.monotonic() - last_save >= SAVE_EVERY_S or units >= total:
                _write(path, key, log_probs, done)
                last_save = time.monotonic()
                rate = (units - start_units) / max(last_save - started, 1e-6)
                cb.note("cache_progress", done=units // views, photos=n, views_per_s=round(rate, 1))


@torch.no_grad()
def answers(teacher: Teacher, images: torch.Tensor, draws: torch.Tensor, policy: AugmentPolicy) -> torch.Tensor:
    """The teachers' mean log-probabilities on the views these draws make of these photos, each
    member seeing the view at its own input size."""
    total = None
    for i, size in enumerate(teacher.sizes):
        p = teacher.member_probabilities(i, render(images, draws, policy, size), 1.0).cpu()
        total = p if total is None else total + p
    return torch.log((total / len(teacher.sizes)).clamp_min(1e-8))


def _read(path: Path, key: str, n: int, classes: int) -> tuple[torch.Tensor, list[int]]:
    """The stored answers (photos x views x classes) and, per view, how many photos they cover
    (no views when absent, foreign or damaged)."""
    empty = torch.zeros((n, 0, classes), dtype=torch.float16)
    if not path.exists():
        return empty, []
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
            if meta.get("key") != key:
                log.warning("%s belongs to another pool or teacher; it is built again", path)
                return empty, []
            log_probs = f.get_tensor("log_probs")
        done = [int(d) for d in json.loads(meta["done"])]
        if log_probs.shape[0] != n or log_probs.shape[2] != classes or len(done) != log_probs.shape[1]:
            return empty, []
        return log_probs, done
    except Exception as exc:  # a damaged file costs its recomputation, nothing else
        log.warning("%s cannot be read (%s); it is built again", path, exc)
        return empty, []


def _read_first_format(folder: Path, images: torch.Tensor, teacher: Teacher, classes: list[str],
                       seed: int, policy: AugmentPolicy) -> tuple[torch.Tensor, list[int]]:
    """The answers of first-format files in folder (one file per view count) for this pool, the
    most views first, merged column by column: what an earlier version already paid for."""
    n = len(images)
    best, done = torch.zeros((n, 0, len(classes)), dtype=torch.float16), []
    for path in sorted(folder.glob("*.safetensors")) if folder.is_dir() else []:
        try:
            with safe_open(str(path), "pt") as f:
                meta, shape = f.metadata() or {}, f.get_slice("log_probs").get_shape()
                if "[" in meta.get("done", "") or shape[0] != n or shape[2] != len(classes):
                    continue
                if meta.get("key") != cache_key(images, teacher, classes, seed, policy, views=shape[1]):
                    continue
                log_probs, count = f.get_tensor("log_probs"), int(meta.get("done", 0))
        except Exception:  # an unreadable old file is simply not used
            continue
        if len(done) < shape[1]:
            grown = torch.zeros((n, shape[1], len(classes)), dtype=torch.float16)
            grown[:, :len(done)] = best
            best, done = grown, done + [0] * (shape[1] - len(done))
        for v in range(shape[1]):
            if count > done[v]:
                best[:count, v], done[v] = log_probs[:count, v], count
        log.info("using %s (%d views of %d photos from an earlier format)", path.name, shape[1], count)
    return best, done


def _write(path: Path, key: str, log_probs: torch.Tensor, done: list[int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, suffix=".safetensors") as tmp:
        save_file({"log_probs": log_probs.contiguous()}, str(tmp),
                  metadata={"key": key, "done": json.dumps(done)})
