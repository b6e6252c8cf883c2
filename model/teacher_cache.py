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

CACHE_FORMAT = 1
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


def cache_key(images: torch.Tensor, teacher: Teacher, classes: list[str], seed: int, views: int,
              policy: AugmentPolicy) -> str:
    """Everything the answers depend on: the pool's pixels, the teachers' files, the products'
    order, the seed, the number of views and the augmentation."""
    from assistant.inference.onnx_files import file_sha256

    h = hashlib.sha256()
    h.update(json.dumps({"format": CACHE_FORMAT, "classes": classes, "seed": seed, "views": views,
                         "policy": policy.__dict__, "shape": list(images.shape),
                         "teachers": [file_sha256(p) for p in teacher.paths]},
                        sort_keys=True).encode())
    h.update(images.contiguous().numpy().tobytes())
    return h.hexdigest()


def default_path(key: str) -> Path:
    from assistant.paths import data_dir
    return data_dir() / "teacher-cache" / f"{key[:24]}.safetensors"


def build_cache(teacher: Teacher, images: torch.Tensor, classes: list[str], seed: int, views: int,
                policy: AugmentPolicy, path: Path | None = None, cb: TrainCallback | None = None,
                batch: int = 32) -> TeacherCache:
    """The cache for this pool, read from `path` when complete, else built (resuming a partial
    file of the same key). images: the uint8 pool, N x 3 x S x S, in the training loop's order."""
    cb = cb or TrainCallback()
    key = cache_key(images, teacher, classes, seed, views, policy)
    path = Path(path) if path else default_path(key)
    n = len(images)
    log_probs, done = _read(path, key, (n, views, len(classes)))
    if done >= n:
        cb.note("cache_ready", path=path, photos=n, views=views)
        return TeacherCache(log_probs, seed, policy, teacher.symmetric)
    cb.note("cache_building", path=path, photos=n, views=views, done=done)
    started = last_save = time.monotonic()
    photos_per_batch = max(batch // views, 1)
    for first in range(done, n, photos_per_batch):
        if cb.cancelled():
            _write(path, key, log_probs, first)
            raise KeyboardInterrupt("the teacher's answers were being computed; run again to resume")
        idx = torch.arange(first, min(first + photos_per_batch, n))
        photos = idx.repeat_interleave(views)
        view_ids = torch.arange(views).repeat(len(idx))
        log_probs[idx] = answers(teacher, images[photos], seeded_views(seed, photos, view_ids),
                                 policy).view(len(idx), views, -1).half()
        end = int(idx[-1]) + 1
        cb.on_step(0, end, n, 0.0)
        if time.monotonic() - last_save >= SAVE_EVERY_S or end >= n:
            _write(path, key, log_probs, end)
            last_save = time.monotonic()
            rate = (end - done) * views / max(last_save - started, 1e-6)
            cb.note("cache_progress", done=end, photos=n, views_per_s=round(rate, 1))
    return TeacherCache(log_probs, seed, policy, teacher.symmetric)


@torch.no_grad()
def answers(teacher: Teacher, images: torch.Tensor, draws: torch.Tensor, policy: AugmentPolicy) -> torch.Tensor:
    """The teachers' mean log-probabilities on the views these draws make of these photos, each
    member seeing the view at its own input size."""
    total = None
    for i, size in enumerate(teacher.sizes):
        p = teacher.member_probabilities(i, render(images, draws, policy, size), 1.0).cpu()
        total = p if total is None else total + p
    return torch.log((total / len(teacher.sizes)).clamp_min(1e-8))


def _read(path: Path, key: str, shape: tuple[int, int, int]) -> tuple[torch.Tensor, int]:
    """The stored answers and how many photos they cover (0 when absent, foreign or damaged)."""
    empty = torch.zeros(shape, dtype=torch.float16)
    if not path.exists():
        return empty, 0
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
            if meta.get("key") != key:
                log.warning("%s belongs to another pool or teacher; it is built again", path)
                return empty, 0
            log_probs = f.get_tensor("log_probs")
        if tuple(log_probs.shape) != shape:
            return empty, 0
        return log_probs, int(meta.get("done", 0))
    except Exception as exc:  # a damaged file costs its recomputation, nothing else
        log.warning("%s cannot be read (%s); it is built again", path, exc)
        return empty, 0


def _write(path: Path, key: str, log_probs: torch.Tensor, done: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, suffix=".safetensors") as tmp:
        save_file({"log_probs": log_probs.contiguous()}, str(tmp), metadata={"key": key, "done": str(done)})
