"""Fast retraining's learning step: a new head (optionally new upper blocks) on cached features.

The head keeps the old products' rows. New rows start "imprinted" (Qi et al., CVPR 2018: the
direction of the product's mean feature, at the old rows' typical length), then the rows of
every product that has photos here are fitted by full-batch L-BFGS on a class-balanced
cross-entropy, each pulled towards its starting point so that products with few photos, or
none here, keep what the model knew. Rows of products without photos stay exactly as they were.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from assistant.inference.architectures import architecture
from model.retrain.features import Cancelled, one_thread

#: pull of each row towards its starting point, per unit of squared distance
ANCHOR = 1e-3
#: the pull on rows that only this fit has seen photos of: weaker, they have more to learn
NEW_ANCHOR = 1e-4


def imprint(feats: torch.Tensor, labels: torch.Tensor, classes: list[int], weight: torch.Tensor,
            bias: torch.Tensor, known: torch.Tensor) -> None:
    """Set the rows `classes` (in place) from the mean feature of their photos."""
    norms = weight[known].norm(dim=1) if bool(known.any()) else torch.ones(1)
    length = float(norms.mean()) if len(norms) else 1.0
    b = float(bias[known].mean()) if bool(known.any()) else 0.0
    for c in classes:
        rows = feats[labels == c]
        if len(rows):
            mean = rows.mean(0)
            weight[c] = mean / mean.norm().clamp_min(1e-6) * length
            bias[c] = b


def stand_ins(reference: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
              classes: list[int], per_class: int = 32, steps: int = 60, seed: int = 0) -> torch.Tensor:
    """Feature vectors the old head takes for each of `classes` (per_class each, in order), for
    products of which no photo and no bank row is at hand. Each starts as a draw from the
    statistics of real photos' features (the new ones) and is moved by gradient steps until the
    head names the class, staying non-negative and close to those statistics: a data-free
    inversion of the head, in feature space only. Used as examples of what the new rows must
    not claim; measured on Freiburg, a new product then took 0-3% of the old products' photos
    (84% without them)."""
    gen = torch.Generator().manual_seed(seed)
    mu, sd = reference.mean(0), reference.std(0) + 1e-3
    out = []
    with torch.enable_grad():
        for c in classes:
            z = (mu + sd * torch.randn(per_class, reference.shape[1], generator=gen)).clamp_min(0)
            z.requires_grad_(True)
            opt = torch.optim.Adam([z], lr=0.05)
            target = torch.full((per_class,), c, dtype=torch.long)
            for _ in range(steps):
                loss = F.cross_entropy(z @ weight.T + bias, target) + 1e-3 * ((z - mu) / sd).pow(2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                with torch.no_grad():
                    z.clamp_(min=0)
            out.append(z.detach())
    return torch.cat(out) if out else reference[:0]


def balanced_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    counts = torch.bincount(labels, minlength=num_classes).float()
    w = torch.where(counts > 0, counts.sum() / (counts.clamp_min(1) * (counts > 0).sum()), 0.0)
    return w


def fit_head(feats: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
             anchored_new: torch.Tensor, iterations: int = 60,
             step: Callable[[float], None] | None = None,
             cancelled: Callable[[], bool] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Fit rows of products that have photos in `labels`; others stay frozen.

    feats N x D, labels N, weight C x D, bias C (starting points). anchored_new: C booleans,
    True for rows that start from an imprint (weaker pull). Returns (weight, bias)."""
    c = weight.shape[0]
    trainable = torch.bincount(labels, minlength=c) > 0
    pull = torch.where(anchored_new, NEW_ANCHOR, ANCHOR) * trainable.float()
    w0, b0 = weight.clone(), bias.clone()
    w = weight.clone().requires_grad_(True)
    b = bias.clone().requires_grad_(True)
    cw = balanced_weights(labels, c)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=iterations, history_size=20,
                            line_search_fn="strong_wolfe")
    calls = [0]

    def closure() -> torch.Tensor:
        if cancelled is not None and cancelled():
            raise Cancelled()
        opt.zero_grad()
        loss = F.cross_entropy(feats @ w.T + b, labels, weight=cw)
        loss = loss + (pull[:, None] * (w - w0) ** 2).sum() + (pull * (b - b0) ** 2).sum()
        loss.backward()
        w.grad[~trainable] = 0
        b.grad[~trainable] = 0
        calls[0] += 1
        if step is not None:
            step(float(loss.detach()))
        return loss

    with one_thread():
        opt.step(closure)
    return w.detach(), b.detach()


def learn_head(feats: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
               known: torch.Tensor, iterations: int = 60, step: Callable[[float], None] | None = None,
               cancelled: Callable[[], bool] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The head's learning from a start: the rows not `known` imprinted from their photos (in
    place), then every row with photos fitted (fit_head; the imprinted rows pulled less).
    Returns (weight, bias)."""
    imprint(feats, labels, [i for i in range(len(weight)) if not known[i]], weight, bias, known)
    return fit_head(feats, labels, weight, bias, ~known, iterations, step=step, cancelled=cancelled)


def as_linear(weight: torch.Tensor, bias: torch.Tensor, device: torch.device) -> nn.Linear:
    """A head layer holding a copy of these rows, on device (what fit_upper learns)."""
    lin = nn.Linear(weight.shape[1], weight.shape[0]).to(device)
    with torch.no_grad():
        lin.weight.copy_(weight)
        lin.bias.copy_(bias)
    return lin


def adapted_state(state: dict, model: nn.Module, head_name: str, head: nn.Linear) -> dict:
    """A copy of state holding the adapted network's tensors and the head layer's rows (on the
    CPU): what a retrain with --adapt upper saves."""
    out = dict(state)
    out.update({k: v.cpu() for k, v in model.state_dict().items() if not k.startswith(head_name + ".")})
    out[f"{head_name}.weight"], out[f"{head_name}.bias"] = head.weight.detach().cpu(), head.bias.detach().cpu()
    return out


def fit_upper(model: nn.Module, arch: str, head: nn.Linear, lowers: torch.Tensor,
              labels: torch.Tensor, epochs: int = 8, lr: float = 1e-3, batch: int = 32,
              step: Callable[[int, int, float], None] | None = None,
              cancelled: Callable[[], bool] | None = None, seed: int = 0, kept: int = 0,
              warmup: float = 0.1, more: torch.Tensor | None = None) -> None:
    """Fine-tune the upper blocks and the head (in place) on cached lower-block outputs.
    kept: the first upper modules stay as they are (Architecture.kept_upper), and lowers and
    more are their output already (frozen_maps: run once, not at every step); warmup: the share
    of the steps the learning rate rises in; more: M x C x H x W photos in one view each, learnt
    beside lowers (labels: lowers' then more's; read where they lie, never copied together).

    lowers: N x V x C x H x W, V views of each photo (the photo, its mirror image, random
    crops); each pass shows every photo once, in one of its views drawn at random. AdamW
    (the head at 3x the rate), one-cycle schedule, class-balanced cross-entropy with label
    smoothing 0.1, the network's own stochastic depth; batch-norm statistics are updated only
    when there are at least 4 batches of photos (a few dozen would spoil them). Measured on the
    81 GroceryStore products (README, maintainer section): 70% with the head alone, 83% so."""
    _, upper = architecture(arch).split_upper(model, kept)
    mods = architecture(arch).upper_modules(model)[kept:]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    params = [p for m in mods for p in m.parameters()]
    for p in params:
        p.requires_grad_(True)
    head.requires_grad_(True)
    opt = torch.optim.AdamW([{"params": params, "lr": lr}, {"params": head.parameters(), "lr": 3 * lr}],
                            weight_decay=0.05)
    views = lowers.shape[1]
    n = lowers.shape[0] + (len(more) if more is not None else 0)
    steps = max(-(-n // batch), 1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[lr, 3 * lr], total_steps=max(epochs * steps, 1),
                                                pct_start=warmup)
    cw = balanced_weights(labels, head.out_features)
    gen = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    update_stats = n >= 4 * batch
    for epoch in range(epochs):
        for m in mods:
            m.train(update_stats)
        perm = torch.randperm(n, generator=gen)
        pick = torch.randint(0, views, (n,), generator=gen)
        for s in range(steps):
            if cancelled is not None and cancelled():
                raise Cancelled()
            idx = perm[s * batch:(s + 1) * batch]
            x = _batch(lowers, more, idx, pick).to(device).float().contiguous(memory_format=torch.channels_last)
            logits = head(upper(x, train=True))
            loss = F.cross_entropy(logits, labels[idx].to(device), weight=cw.to(device), label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if step is not None:
                step(epoch, s + 1, float(loss.detach()))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    head.requires_grad_(False)


@torch.no_grad()
def frozen_maps(model: nn.Module, arch: str, kept: int, lowers: torch.Tensor,
                batch: int = 64) -> torch.Tensor:
    """Cached lower-block outputs (N x [V x] C x H x W) through the first `kept` upper modules,
    which fit_upper leaves as they are: what it learns from, in lowers' dtype (lowers itself
    when none is kept). Once per retrain, where each step ran them again (Lite2 from ImageNet:
    blocks 11-14)."""
    if not kept or not len(lowers):
        return lowers
    frozen, _ = architecture(arch).split_upper(model, kept)
    model.eval()
    out = batched(frozen, lowers.reshape(-1, *lowers.shape[-3:]), next(model.parameters()).device,
                  batch, lowers.dtype)
    return out.reshape(*lowers.shape[:-3], *out.shape[1:])


def batched(fn: Callable, maps: torch.Tensor, device: torch.device, batch: int = 64,
            dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """fn on cached maps (N x C x H x W) a batch at a time, each in fp32 and channels-last on
    device; the results on the CPU in dtype (0 x 0 for no maps)."""
    parts = [fn(maps[i:i + batch].to(device).float().contiguous(memory_format=torch.channels_last))
             .to(dtype).cpu() for i in range(0, len(maps), batch)]
    return torch.cat(parts) if parts else torch.zeros(0, 0)


def _batch(lowers: torch.Tensor, more: torch.Tensor | None, idx: torch.Tensor,
           pick: torch.Tensor) -> torch.Tensor:
    """The rows idx of lowers (each in its picked view) and of more (after lowers' rows)."""
    own = idx < len(lowers)
    if more is None or bool(own.all()):
        return lowers[idx, pick[idx]]
    x = torch.empty((len(idx), *lowers.shape[2:]), dtype=torch.promote_types(lowers.dtype, more.dtype))
    x[own] = lowers[idx[own], pick[idx[own]]].to(x.dtype)
    x[~own] = more[idx[~own] - len(lowers)].to(x.dtype)
    return x
