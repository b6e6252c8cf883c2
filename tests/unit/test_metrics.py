"""model.evaluate.metrics on hand-made logits: top-1 and top-3 where top-3 can be wrong."""
from __future__ import annotations

import torch

from model.evaluate import metrics


def test_top1_and_top3_count_what_they_say():
    classes = ["a", "b", "c", "d", "e"]
    logits = torch.tensor([[5.0, 4, 3, 2, 1],    # truth a: top-1
                           [5.0, 4, 3, 2, 1],    # truth c: top-3 only
                           [5.0, 4, 3, 2, 1],    # truth e: neither
                           [1.0, 2, 3, 4, 5]])   # truth d: top-3 only
    labels = torch.tensor([0, 2, 4, 3])
    res = metrics(logits, labels, classes)
    assert res["top1"] == 0.25 and res["top3"] == 0.75 and res["n"] == 4
    assert res["confusion"][2][0] == 1 and res["per_class"]["a"] == 1.0 and res["per_class"]["e"] == 0.0
