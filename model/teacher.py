"""Teachers for distillation: one or several trained checkpoints whose averaged soft
predictions on the student's exact augmented view become its targets.

backend "torch" keeps the networks on the training device (a GPU's loop asks them for every
batch); "auto" runs each as the app does (ONNX Runtime on a CPU, mirror averaging included),
which is what the cached teacher (model.teacher_cache) uses: it asks once per view, ahead."""
from __future__ import annotations

import torch

from assistant.inference.checkpoint import load_checkpoint
from model.evaluate import use_bf16


class Teacher:
    def __init__(self, paths: list[str], classes: list[str], device: torch.device,
                 backend: str = "torch") -> None:
        self.members = []   # (logits function, preprocessing, class order)
        self.paths = list(paths)
        self.device = device
        for path in paths:
            run, prep, class_ids = (_torch_member(path, device) if backend == "torch"
                                    else _runtime_member(path, backend))
            if sorted(class_ids) != sorted(classes):
                raise ValueError(f"{path}: the teacher knows other products than the data "
                                 f"({len(class_ids)} vs {len(classes)})")
            order = torch.tensor([class_ids.index(c) for c in classes], device=device)
            self.members.append((run, prep, order))

    @property
    def sizes(self) -> list[int]:
        """Each member's input size (its own preprocessing)."""
        return [prep.size for _, prep, _ in self.members]

    @property
    def symmetric(self) -> bool:
        """Whether every member answers a picture and its mirror image alike (mirror averaging)."""
        return all(prep.mirror for _, prep, _ in self.members)

    @torch.no_grad()
    def member_probabilities(self, member: int, view: torch.Tensor, temperature: float) -> torch.Tensor:
        run, prep, order = self.members[member]
        logits = run(prep.normalize(view.to(self.device)).contiguous(memory_format=torch.channels_last))
        return torch.softmax(logits.float()[:, order] / temperature, dim=1)

    @torch.no_grad()
    def probabilities(self, view: torch.Tensor, temperature: float) -> torch.Tensor:
        """view: float [0, 1] batch; returns the members' mean softmax(logits / T)."""
        total = sum(self.member_probabilities(i, view, temperature) for i in range(len(self.members)))
        return total / len(self.members)


def _torch_member(path: str, device: torch.device):
    from assistant.inference.classifier import MirrorAverage

    ckpt = load_checkpoint(path)
    net = ckpt.network(device)
    if ckpt.preprocessing.mirror:  # the teacher answers as it does in the app
        net = MirrorAverage(net)
    for p in net.parameters():
        p.requires_grad = False
    bf16 = use_bf16(device)

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            return net(x).float()
    return run, ckpt.preprocessing, ckpt.class_ids


def _runtime_member(path: str, backend: str):
    from assistant.inference.onnx_backend import open_classifier

    clf = open_classifier(path, backend=backend)

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(clf.logits(x.cpu()))
    return run, clf.preprocessing, clf.class_ids
