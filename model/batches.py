"""What one training step feeds the student: the teacher (live, or its cached answers), the
augmented and mixed view at the epoch's size with the teacher's answers for it, and the loss
on the labels (photos without a label, y < 0, count only through the teacher)."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from model.augment import augment, mixup
from model.callbacks import TrainCallback
from model.config import TrainConfig
from model.teacher import Teacher
from model.teacher_cache import TeacherCache, build_cache


def make_teacher(cfg: TrainConfig, classes: list[str], device: torch.device, pool: torch.Tensor,
                 policy, cb: TrainCallback) -> tuple[Teacher | None, TeacherCache | None]:
    """The teacher that answers every view as it is made, or (cached_views > 0) the answers it
    gave once, ahead, on seeded views of the pool (the pool's uint8 photos in training order)."""
    if not cfg.teacher:
        return None, None
    if not cfg.cached_views:
        return Teacher(cfg.teacher, classes, device), None
    # asked once per view and never on a GPU's loop: each member runs as the app runs it
    teacher = Teacher(cfg.teacher, classes, device, backend="auto" if device.type == "cpu" else "torch")
    path = Path(cfg.teacher_cache) if cfg.teacher_cache else None
    return None, build_cache(teacher, pool, classes, cfg.seed, cfg.cached_views, policy, path, cb)


def make_batch(cfg: TrainConfig, images: torch.Tensor, idx: torch.Tensor, size: int, policy,
               gen: torch.Generator, teacher: Teacher | None, cache: TeacherCache | None):
    """The student's input at `size` (float [0, 1]), mixup's partner order and weight, and the
    teacher's probabilities for it (None without a teacher)."""
    target = None
    if cache is not None:
        # a fixed view of each photo, drawn anew each step; mixing two views mixes their answers
        views = torch.randint(cache.views, (len(idx),), generator=gen)
        view = cache.render(images[idx], idx.cpu(), views, size)
        target = cache.targets(idx, views, cfg.temperature).to(view.device)
        if cache.symmetric:  # the mirror image of a view has the same answer
            flip = (torch.rand(len(idx), generator=gen) < 0.5).view(-1, 1, 1, 1).to(view.device)
            view = torch.where(flip, view.flip(-1), view)
    else:
        view = augment(images[idx], policy, cfg.image_size if teacher else size, gen)
    perm_b, lam = None, 1.0
    if cfg.mixup > 0:
        view, perm_b, lam = mixup(view, cfg.mixup, gen)
        if target is not None:
            target = lam * target + (1 - lam) * target[perm_b]
    if teacher is not None:  # the teacher sees exactly the (mixed) view the student learns from
        target = teacher.probabilities(view, cfg.temperature)
    if view.shape[-1] != size:
        view = F.interpolate(view, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return view, perm_b, lam, target


def label_loss(cfg: TrainConfig, logits, y, perm_b, lam) -> torch.Tensor:
    mask = y >= 0
    if perm_b is not None:
        mask = mask & (y[perm_b] >= 0)
    if not bool(mask.any()):
        return logits.sum() * 0.0
    ce = F.cross_entropy(logits[mask], y[mask], label_smoothing=cfg.label_smoothing)
    if perm_b is not None and lam < 1.0:
        ce = lam * ce + (1 - lam) * F.cross_entropy(logits[mask], y[perm_b][mask],
                                                    label_smoothing=cfg.label_smoothing)
    return ce
