"""Accuracy of a model on a folder-per-class set: top-1, top-3, per class, confusion."""
from __future__ import annotations

import torch
from torch import nn

from assistant.inference.vision import Preprocessing
from model.augment import resize_eval


@torch.no_grad()
def predict_logits(model: nn.Module, images: torch.Tensor, prep: Preprocessing,
                   device: torch.device, batch_size: int = 128) -> torch.Tensor:
    """uint8 N x 3 x S x S photos (already fitted by vision) -> N x C float32 logits on CPU.

    Always fp32, on every device: a recorded figure must come out the same on any CPU
    (bf16 moved Lite0's fold-0 figure by 0.3 points on a bf16 CPU). Training steps may use bf16.
    """
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        x = resize_eval(images[start:start + batch_size].to(device), prep.size)
        x = prep.normalize(x).contiguous(memory_format=torch.channels_last)
        out.append(model(x).float().cpu())
    return torch.cat(out) if out else torch.zeros(0, 0)


def use_bf16(device: torch.device) -> bool:
    """bf16 autocast only where the hardware computes it natively (emulated bf16 on an
    AVX2-only CPU is several times slower than fp32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    from assistant.inference.classifier import cpu_has_bf16
    return device.type == "cpu" and cpu_has_bf16()


def metrics(logits: torch.Tensor, labels: torch.Tensor, classes: list[str]) -> dict:
    """top1, top3, per-class accuracy, mean loss, n and the confusion matrix (rows = truth)."""
    n = int(labels.numel())
    if n == 0:
        return {"top1": None, "top3": None, "per_class": {}, "n": 0, "loss": None, "confusion": []}
    k = min(3, logits.shape[1])
    topk = logits.topk(k, dim=1).indices
    top1 = (topk[:, 0] == labels).float()
    top3 = (topk == labels[:, None]).any(dim=1).float()
    c = len(classes)
    conf = torch.zeros(c, c, dtype=torch.long)
    conf.index_put_((labels, topk[:, 0]), torch.ones(n, dtype=torch.long), accumulate=True)
    per_class = {}
    for i, name in enumerate(classes):
        total = int(conf[i].sum())
        if total:
            per_class[name] = round(float(conf[i, i]) / total, 4)
    loss = float(nn.functional.cross_entropy(logits, labels))
    return {"top1": round(float(top1.mean()), 4), "top3": round(float(top3.mean()), 4),
            "per_class": per_class, "n": n, "loss": round(loss, 4), "confusion": conf.tolist()}


#: a pair is a look-alike from this many confusions on: one photo is not a pattern
LOOKALIKE_MIN = 2


def lookalikes(confusion: list[list[int]], classes: list[str], names: list[str] | None = None,
               min_rate: float = 0.05, most: int = 10, min_count: int = 1) -> list[dict]:
    """The pairs most often confused: "oil is taken for vinegar 22% of the time"."""
    names = names or classes
    pairs = []
    for i, row in enumerate(confusion):
        total = sum(row)
        for j, count in enumerate(row):
            if i != j and total and count >= min_count and count / total >= min_rate:
                rate = count / total
                pairs.append({"truth": classes[i], "taken_for": classes[j], "rate": round(rate, 4),
                              "sentence": f"{names[i]} is taken for {names[j]} {rate:.0%} of the time"})
    return sorted(pairs, key=lambda p: -p["rate"])[:most]
