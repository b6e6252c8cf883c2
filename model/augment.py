"""Batch augmentation on uint8 photo tensors, on whatever device trains (CPU or CUDA).

One affine warp per photo does random resized crop, rotation and mirror at once, at the
output size the schedule asks for; colour jitter and mixup follow. The result is a float
batch in [0, 1]: assistant.inference.vision's Preprocessing.normalize finishes it, as at inference.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentPolicy:
    scale: tuple[float, float] = (0.25, 1.0)   # area fraction kept by the random crop
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    rotate: float = 15.0                        # degrees, uniform in [-rotate, rotate]
    hflip: float = 0.5
    vflip: float = 0.0
    jitter: float = 0.3                         # brightness/contrast/saturation strength
    grayscale: float = 0.05


POLICIES = {
    # the 2020 challenge: rotations and mirrors on the whole photo
    "recipe2020": AugmentPolicy(scale=(1.0, 1.0), ratio=(1.0, 1.0), rotate=30.0, hflip=0.5,
                                vflip=0.5, jitter=0.0, grayscale=0.0),
    "default": AugmentPolicy(),
    "strong": AugmentPolicy(scale=(0.12, 1.0), rotate=25.0, jitter=0.4, grayscale=0.1),
    "none": AugmentPolicy(scale=(1.0, 1.0), ratio=(1.0, 1.0), rotate=0.0, hflip=0.0,
                          jitter=0.0, grayscale=0.0),
}


#: the numbers that define one augmented view, in this order (one row per photo)
VIEW_FIELDS = ("area", "log_ratio", "tx", "ty", "angle", "hflip", "vflip", "bright", "contrast",
               "sat", "gray")


def sample_views(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """n x len(VIEW_FIELDS) uniform draws in [0, 1): what a policy turns into n random views."""
    return torch.rand(n, len(VIEW_FIELDS), generator=generator, device="cpu")


def seeded_views(seed: int, photos: torch.Tensor, views: torch.Tensor) -> torch.Tensor:
    """The draws of view `views[i]` of photo `photos[i]` under `seed`: the same numbers every
    time, in any batch and any order, so a view can be rendered again from its three integers
    (the cached teacher's outputs are keyed by them)."""
    rows = []
    for photo, view in zip(photos.tolist(), views.tolist(), strict=True):
        g = torch.Generator().manual_seed(((seed * 1_000_003 + photo) * 1_009 + view) & (2 ** 63 - 1))
        rows.append(torch.rand(len(VIEW_FIELDS), generator=g))
    return torch.stack(rows) if rows else torch.zeros(0, len(VIEW_FIELDS))


def augment(batch: torch.Tensor, policy: AugmentPolicy, out_size: int,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """uint8 N x 3 x H x W -> float N x 3 x out x out in [0, 1], randomly warped and jittered."""
    return render(batch, sample_views(batch.shape[0], generator), policy, out_size)


def render(batch: torch.Tensor, draws: torch.Tensor, policy: AugmentPolicy, out_size: int) -> torch.Tensor:
    """uint8 N x 3 x H x W and N rows of draws (sample_views, seeded_views) -> the views as float
    N x 3 x out x out in [0, 1]. The same draws give the same view at any output size."""
    n, device = batch.shape[0], batch.device
    x = batch.float().div_(255.0)
    d = dict(zip(VIEW_FIELDS, draws.to(device).unbind(1), strict=True))
    area = policy.scale[0] + (policy.scale[1] - policy.scale[0]) * d["area"]
    log_r = math.log(policy.ratio[0]) + (math.log(policy.ratio[1]) - math.log(policy.ratio[0])) * d["log_ratio"]
    aspect = torch.exp(log_r)
    w = torch.sqrt(area * aspect).clamp(max=1.0)
    h = torch.sqrt(area / aspect).clamp(max=1.0)
    tx = (1 - w) * (2 * d["tx"] - 1)
    ty = (1 - h) * (2 * d["ty"] - 1)
    angle = torch.deg2rad(policy.rotate * (2 * d["angle"] - 1))
    fx = torch.where(d["hflip"] < policy.hflip, -1.0, 1.0)
    fy = torch.where(d["vflip"] < policy.vflip, -1.0, 1.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([
        torch.stack([w * cos * fx, -h * sin * fy, tx], dim=1),
        torch.stack([w * sin * fx, h * cos * fy, ty], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, [n, 3, out_size, out_size], align_corners=False)
    # shrinking a lot: blur first (cheap antialias) so low-res training sees clean pictures
    if x.shape[-1] > 1.5 * out_size:
        x = F.interpolate(x, size=(out_size * 3 // 2,) * 2, mode="bilinear", antialias=True,
                          align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if policy.jitter > 0:
        x = _jitter(x, policy.jitter, *(d[k].view(n, 1, 1, 1) for k in ("bright", "contrast", "sat")))
    if policy.grayscale > 0:
        g = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).expand_as(x)
        x = torch.where((d["gray"] < policy.grayscale).view(n, 1, 1, 1), g, x)
    return x.clamp_(0.0, 1.0)


def _jitter(x: torch.Tensor, j: float, bright, contrast, sat) -> torch.Tensor:
    x = x * (1 + j * (2 * bright - 1))
    gray = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    mean = gray.mean(dim=(2, 3), keepdim=True)
    x = (x - mean) * (1 + j * (2 * contrast - 1)) + mean
    gray = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    return gray + (x - gray) * (1 + j * (2 * sat - 1))


def resize_eval(batch: torch.Tensor, out_size: int) -> torch.Tensor:
    """uint8 N x 3 x S x S -> float [0, 1] at out_size (no randomness), for validation."""
    x = batch.float().div_(255.0)
    if x.shape[-1] != out_size:
        x = F.interpolate(x, size=(out_size, out_size), mode="bilinear", antialias=True,
                          align_corners=False)
    return x


def mixup(x: torch.Tensor, alpha: float, generator: torch.Generator | None = None
          ) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Blend each photo with another of the batch; returns (mixed, partner index, lambda)."""
    lam = beta(alpha, generator) if alpha > 0 else 1.0
    perm = torch.randperm(x.shape[0], generator=generator).to(x.device)
    return lam * x + (1 - lam) * x[perm], perm, lam


def beta(alpha: float, generator: torch.Generator | None = None) -> float:
    """One Beta(alpha, alpha) draw that follows the generator: torch's Beta sampler takes no
    generator and would draw from the global stream, which a resumed run does not restore."""
    import numpy as np
    seed = int(torch.randint(0, 2 ** 62, (1,), generator=generator))
    return float(np.random.default_rng(seed).beta(alpha, alpha))
