"""An honest check: a retrain holds out whole bursts of near-identical shots, and its "sure"
threshold must hold on the independent photos it was measured on (issue 29)."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from PIL import Image

from model.calibrate import NEVER_SURE, choose_bands, lower_bound
from model.retrain.bursts import burst_labels, bursts, capture_order, centred, hold_out, near_twins


def burst_features(n_bursts: int, shots: int, dim: int = 64, noise: float = 0.01, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(features, burst of each row): each burst one random direction, its shots that plus a
    little noise; rows shuffled, as GroceryStore's file names are."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n_bursts, dim))
    which = np.repeat(np.arange(n_bursts), shots)
    feats = base[which] + noise * rng.normal(size=(len(which), dim))
    order = rng.permutation(len(which))
    return feats[order], which[order]


def test_held_out_photos_are_whole_bursts_with_no_twin_in_training():
    feats, which = burst_features(8, 5)
    files = [Path(f"shot_{i:03d}.jpg") for i in range(len(which))]
    for seed in range(5):
        train, held, apart = hold_out(files, 0.2, random.Random(seed), centred(feats))
        held_rows = [files.index(f) for f in held]
        train_rows = [files.index(f) for f in train]
        assert apart and 4 <= len(held) <= 16 and len(train) + len(held) == len(files)
        assert set(which[held_rows]).isdisjoint(which[train_rows])  # whole bursts only
        twins = near_twins(centred(feats))
        assert not [(a, b) for a, b in twins if (a in held_rows) != (b in held_rows)]


def test_a_product_that_is_one_burst_is_checked_on_twins_and_says_so():
    """No burst can be held out: the product is still checked (a stretch of capture order), and
    hold_out says the check is on twins of its training photos (the report then says so)."""
    feats, _ = burst_features(1, 12)
    files = [Path(f"{i}.jpg") for i in range(12)]
    train, held, apart = hold_out(files, 0.2, random.Random(0), feats)
    assert not apart and len(held) == 2 and len(train) == 10
    feats, _ = burst_features(3, 4)
    assert hold_out(files, 0.2, random.Random(0), feats)[2]


def test_without_features_a_stretch_of_capture_order_is_held_out():
    """No features, no EXIF: the file names' natural order (IMG_9 before IMG_10) is the order the
    shots were taken in, and the held-out photos are neighbours in it."""
    files = [Path(f"IMG_{i}.jpg") for i in range(1, 21)]
    random.Random(1).shuffle(files)
    order, times = capture_order(files)
    assert times is None and [files[i].name for i in order][8:11] == ["IMG_9.jpg", "IMG_10.jpg", "IMG_11.jpg"]
    for seed in range(6):
        _, held, _ = hold_out(files, 0.2, random.Random(seed))
        numbers = sorted(int(f.stem.split("_")[1]) for f in held)
        assert len(numbers) == 4
        gaps = [(b - a) % 20 for a, b in zip(numbers, numbers[1:] + numbers[:1], strict=True)]
        assert sorted(gaps)[:-1] == [1, 1, 1]  # one run, perhaps wrapping round


def test_shots_seconds_apart_are_one_burst_by_their_exif_time(tmp_path):
    """Three visits of four shots 2 s apart, ten minutes between visits; the names do not follow
    the time. A visit is held out whole."""
    files = []
    names = random.Random(0).sample(range(100), 12)
    for visit in range(3):
        for shot in range(4):
            exif = Image.Exif()
            exif[306] = f"2024:05:01 10:{10 * visit:02d}:{2 * shot:02d}"
            path = tmp_path / f"p{names[4 * visit + shot]:03d}.jpg"
            Image.new("RGB", (16, 16), (visit * 60, 90, 90)).save(path, exif=exif)
            files.append((path, visit))
    groups = bursts([f for f, _ in files])
    assert sorted(sorted(files[i][1] for i in g) for g in groups) == [[0] * 4, [1] * 4, [2] * 4]
    visit = dict(files)
    _, held, apart = hold_out([f for f, _ in files], 0.25, random.Random(3))
    assert apart and len(held) == 4 and len({visit[f] for f in held}) == 1


def test_burst_labels_count_the_independent_photos():
    feats, which = burst_features(6, 4, seed=2)
    products = which % 2  # three bursts each
    ids = burst_labels([Path(f"{i}.jpg") for i in range(len(which))], products, feats)
    assert len(set(ids.tolist())) == 6
    assert all(len(set(ids[which == b].tolist())) == 1 for b in range(6))


def test_the_sure_threshold_must_hold_on_enough_independent_photos():
    """A band right every time on 40 photos proves less than 95% with 95% confidence (Wilson):
    never sure. On 60 it does; but 60 photos that are 10 bursts are only 10 independent ones."""
    def sure(n: int, groups=None) -> float:
        probs = np.tile([[0.995, 0.005]], (n, 1))
        return choose_bands(probs, np.zeros(n, dtype=int), groups=groups)[0]

    assert lower_bound(1.0, 40) < 0.95 < lower_bound(1.0, 60)
    assert sure(40) == NEVER_SURE
    assert sure(60) < NEVER_SURE
    assert sure(60, np.repeat(np.arange(10), 6)) == NEVER_SURE
