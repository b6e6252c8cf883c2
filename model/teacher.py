"""Teachers for distillation: one or several trained checkpoints whose averaged soft
predictions on the student's exact augmented view become its targets."""
from __future__ import annotations

import torch

from assistant.inference.checkpoint import load_checkpoint
from model.evaluate import use_bf16


class Teacher:
    def __init__(self, paths: list[str], classes: list[str], device: torch.device) -> None:
        self.members = []
        self.device = device
        for path in paths:
            ckpt = load_checkpoint(path)
            if sorted(ckpt.class_ids) != sorted(classes):
                raise ValueError(f"{path}: the teacher knows other products than the data "
                                 f"({len(ckpt.class_ids)} vs {len(classes)})")
            order = torch.tensor([ckpt.class_ids.index(c) for c in classes], device=device)
            net = ckpt.network(device)
            for p in net.parameters():
                p.requires_grad = False
            self.members.append((net, ckpt.preprocessing, order))

    @torch.no_grad()
    def probabilities(self, view: torch.Tensor, temperature: float) -> torch.Tensor:
        """view: float [0, 1] batch; returns the members' mean softmax(logits / T)."""
        total = None
        for net, prep, order in self.members:
            x = prep.normalize(view).contiguous(memory_format=torch.channels_last)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=use_bf16(self.device)):
                logits = net(x).float()[:, order]
            p = torch.softmax(logits / temperature, dim=1)
            total = p if total is None else total + p
        return total / len(self.members)
