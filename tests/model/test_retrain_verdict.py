"""The "is the new model worse?" verdict: beyond chance on the same photos, counting the wrong
answers said as sure; with no product in common, only a clear difference counts."""
from __future__ import annotations

import torch

from model.retrain.report import compare


def test_more_confident_mistakes_make_a_new_model_worse_even_with_the_same_top1():
    labels = torch.tensor([0, 1] * 20)
    shared = torch.ones(40, dtype=torch.bool)
    hedged = torch.eye(2)[labels] * 0.2   # right, but never sure
    hedged[:10] = torch.eye(2)[1 - labels[:10]] * 0.2   # wrong on 10, unsure there too
    sure = torch.eye(2)[labels] * 8.0
    sure[:10] = torch.eye(2)[1 - labels[:10]] * 8.0      # the same 10 wrong, said as sure
    bands = {"temperature": 1.0, "say": 0.9, "maybe": 0.6}
    c = compare(sure, hedged, labels, shared, None, None, bands, bands)
    assert c.new_top1 == c.current_top1 == 0.75
    assert (c.sure_wrong_current, c.sure_wrong_new) == (0, 10)
    assert c.verdict == "worse" and "said as sure" in c.note
    # the same logits under a temperature that tames them: no longer sure, no longer worse
    tamed = {"temperature": 20.0, "say": 0.9, "maybe": 0.6}
    c = compare(sure, hedged, labels, shared, None, None, tamed, bands)
    assert c.sure_wrong_new == 0 and c.verdict == "same"


def test_without_products_in_common_only_a_clear_difference_counts():
    none = torch.zeros(4, dtype=torch.bool)
    logits, labels = torch.eye(2)[[0, 1, 0, 1]], torch.tensor([0, 1, 0, 1])
    assert compare(logits, None, labels, none, 0.95, 0.945).verdict == "same"
    assert compare(logits, None, labels, none, 0.95, 0.97).verdict == "better"
    assert compare(logits, None, labels, none, 0.95, 0.93).verdict == "worse"
