"""What `--adapt upper` reads and at what size: the cache of the lower blocks' outputs (several
views of each photo) and the photos it still has to read, for the retrain and its forecast."""
from __future__ import annotations

from model.retrain.features import FeatureCache, crop_views

#: --adapt upper learns at the photos' own size up to this (81 GroceryStore products, 348 px
#: photos, ImageNet's upper blocks: 85.1% on val at 300 px against 84.5% and 81.4% at 224;
#: through the product at 260 px, 80.7% against 84.1% at 300, each in 0.76x of the time:
#: docs/retraining.md, "The frozen blocks once; 260 px did not pay")
UPPER_MAX_SIZE = 300
#: passes over the photos of `--adapt upper` before the check (then refit.TAIL_EPOCHS more, with
#: the held-out photos: 81 GroceryStore products, val 82.8% after 5, 87.5% after the tail)
UPPER_EPOCHS = 5


def upper_cache(base, photos: list, device, size: int | None = None) -> FeatureCache:
    """The cache of lower-block outputs `--adapt upper` reads: at `size` (`--image-size`), else at
    upper_size of these photos; its checkpoint is the base at that size."""
    size = size or upper_size(base.preprocessing.size, photos)
    return FeatureCache(base.at_size(size) if size != base.preprocessing.size else base, device, "lower")


def upper_cold(cache: FeatureCache, photos: list) -> int:
    """The photo views `--adapt upper` will read through the lower blocks: all views of each photo
    not read at this level yet (crop_views; a photo read before was read in the views it was
    used in: a training photo in all, a held-out one as itself)."""
    return cache.missing(photos, ("photo",)) * len(crop_views())


def upper_size(model_size: int, photos: list, sample: int = 32) -> int:
    """The input size `--adapt upper` learns at: the median short side of (a sample of) the
    photos, at most UPPER_MAX_SIZE, never below the model's own size (so a retrain of a
    retrained model keeps its size, and its cache). Unreadable photos are left out here; the
    cache says which ones when it reads them."""
    from PIL import Image
    sides = []
    for f in photos[:: max(1, len(photos) // sample)][:sample]:
        try:
            with Image.open(f) as im:
                sides.append(min(im.size))
        except (OSError, ValueError):
            continue
    if not sides:
        return model_size
    return max(model_size, min(sorted(sides)[len(sides) // 2], UPPER_MAX_SIZE))
