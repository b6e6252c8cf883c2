"""The head's L-BFGS fit and `--adapt upper`'s random crops run on one torch thread (many small
operations: on a busy CPU a two-thread pool made each one wait for a core, 20 s for one
product's head instead of 2, 129 ms a crop instead of 7), and the process gets its thread count
back."""
from __future__ import annotations

import pytest
import torch

from model.retrain import head


@pytest.fixture
def two_threads():
    """Two torch threads for the test, then the worker's own count again (its later tests, and
    the OMP_NUM_THREADS=1 of tests/conftest.py's workers, must not inherit the test's 2)."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_the_head_is_fitted_on_one_thread_and_the_count_comes_back(monkeypatch, two_threads):
    seen = []
    real = head.F.cross_entropy

    def spying(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)
    monkeypatch.setattr(head.F, "cross_entropy", spying)
    torch.manual_seed(0)
    feats, labels = torch.randn(40, 8), torch.arange(40) % 2
    w, b = head.fit_head(feats, labels, torch.zeros(2, 8), torch.zeros(2), torch.zeros(2, dtype=torch.bool),
                         iterations=5)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == 2
    assert (feats @ w.T + b).argmax(1).eq(labels).float().mean() > 0.5  # it still fits


def test_the_random_crops_are_made_on_one_thread(monkeypatch, two_threads, tiny_checkpoint):
    from assistant.inference.checkpoint import load_checkpoint
    from model import augment
    from model.retrain.features import FeatureCache
    seen = []
    real = augment.render

    def spying(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)
    monkeypatch.setattr(augment, "render", spying)
    cache = FeatureCache(load_checkpoint(tiny_checkpoint), torch.device("cpu"), "lower")
    batch = torch.randint(0, 255, (3, 3, 64, 64), dtype=torch.uint8)
    crops = cache.view(batch, "crop1", ["a", "b", "c"])
    assert crops.shape == (3, 3, 64, 64) and len(seen) == 3 and set(seen) == {1}
    assert torch.get_num_threads() == 2
