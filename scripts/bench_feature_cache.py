"""How long the feature cache of `retrain --adapt upper` takes to fill, in fp32 and in bf16
autocast, on the same 64 GroceryStore photos x 6 views, in one run (fresh cache each time,
best of two), and how far the two sets of maps lie apart. The feature cache uses bf16 only
where the CPU computes it natively (model.evaluate.use_bf16); this shows what that buys.

  .venv/bin/python scripts/bench_feature_cache.py
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["GROCERY_ASSISTANT_HOME"] = tempfile.mkdtemp(prefix="bench_cache_")


def main() -> int:
    import torch

    from assistant.inference.checkpoint import load_checkpoint
    from assistant.store.models import bundled_default
    from model.evaluate import use_bf16
    from model.retrain.features import FeatureCache, crop_views
    photos = ROOT.parent / "shared" / "data" / "grocerystore" / "train"
    if not photos.is_dir():
        raise SystemExit(f"{photos}: the GroceryStore photos are not here")
    ckpt = load_checkpoint(bundled_default())
    files = sorted(photos.rglob("*.jpg"))[::40][:64]
    seconds: dict[str, list[float]] = {"fp32": [], "bf16": []}
    maps = {}
    for name in ("fp32", "bf16", "fp32", "bf16"):
        cache = FeatureCache(ckpt, torch.device("cpu"), "lower")
        cache.bf16 = name == "bf16"
        shutil.rmtree(cache.folder, ignore_errors=True)
        start = time.perf_counter()
        maps[name], _, _ = cache.features(files, crop_views())
        seconds[name].append(round(time.perf_counter() - start, 2))
    diff = (maps["fp32"].float() - maps["bf16"].float()).abs()
    print(json.dumps({"photos": len(files), "views": len(crop_views()), "seconds": seconds,
                      "fp32_over_bf16": round(min(seconds["fp32"]) / min(seconds["bf16"]), 2),
                      "used_here": "bf16" if use_bf16(torch.device("cpu")) else "fp32",
                      "mean_abs_difference": round(float(diff.mean()), 4),
                      "mean_abs_map": round(float(maps["fp32"].float().abs().mean()), 4),
                      "load_average": os.getloadavg()}, indent=1))
    shutil.rmtree(os.environ["GROCERY_ASSISTANT_HOME"], ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
