"""One-off: which frozen features should a head-only retrain read for many new products?

The 81 GroceryStore products: pooled features of train/ (photo + mirror) and val/ (photo +
mirror, averaged) under the bundled EfficientNet-Lite2 ("default": its Freiburg-tuned upper
blocks) or the same network with ImageNet's upper blocks ("inet"), at SIZE px; then a head
fitted on L2-normalised features x 30 (L-BFGS, 200 steps, weight decay W) and cosine
prototypes, val top-1 printed. Features go through the project's FeatureCache (ONNX Runtime).

    python scripts/features_probe.py default 260
    python scripts/features_probe.py inet 260 [--and default260]   # concatenated features
"""
import json
import sys
import time
from pathlib import Path

import torch

from assistant.inference.architectures import architecture
from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
from model.retrain.features import FeatureCache

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "model/bundled/efficientnet-lite2-freiburg.safetensors"
GROCERY = ROOT.parent / "shared/data/grocerystore"
WORK = Path("/tmp/features-probe")


def features(variant: str, size: int) -> dict:
    saved = WORK / f"F_{variant}{size}.pt"
    if saved.is_file():
        return torch.load(saved)
    ck, path = load_checkpoint(BUNDLED), BUNDLED
    if variant == "inet" or size != 260:
        sd = dict(ck.state_dict)
        if variant == "inet":
            inet = architecture(ck.architecture).imagenet_state()
            sd = {k: (v if k.startswith("_fc.") else inet[k].to(v.dtype)) for k, v in sd.items()}
        meta = json.loads(json.dumps(ck.meta))
        meta["preprocessing"]["size"] = size
        path = save_checkpoint(WORK / f"{variant}{size}.safetensors", sd, meta)
    cache = FeatureCache(load_checkpoint(path), torch.device("cpu"))
    t, c = time.time(), time.process_time()
    out = {}
    for split in ("train", "val"):
        files = sorted((GROCERY / split).rglob("*.jpg"))
        x, _, _ = cache.features(files, ("photo", "mirror"))
        out[split] = (x, [f.parent.name for f in files])
    print(f"{variant} {size}: read in {time.time() - t:.0f} s ({time.process_time() - c:.0f} CPU s)")
    torch.save(out, saved)
    return out


def main() -> None:
    torch.set_num_threads(1)
    WORK.mkdir(exist_ok=True)
    variant, size = sys.argv[1], int(sys.argv[2])
    sets = [features(variant, size)]
    if "--and" in sys.argv:
        other = sys.argv[sys.argv.index("--and") + 1]
        sets.append(features(other.rstrip("0123456789"), int(other[len(other.rstrip("0123456789")):])))
    classes = sorted(set(sets[0]["train"][1]))
    index = {c: i for i, c in enumerate(classes)}
    ytr = torch.tensor([index[c] for c in sets[0]["train"][1]])
    yva = torch.tensor([index[c] for c in sets[0]["val"][1]])
    xtr = torch.cat([torch.nn.functional.normalize(s["train"][0].float(), dim=-1) for s in sets], -1)
    xva = torch.cat([torch.nn.functional.normalize(s["val"][0].float(), dim=-1) for s in sets], -1)
    n, v, d = xtr.shape
    protos = torch.nn.functional.normalize(torch.stack([xtr[ytr == c].mean((0, 1)) for c in range(len(classes))]), dim=-1)
    print(f"prototypes: {100 * ((xva @ protos.T).mean(1).argmax(1) == yva).float().mean():.1f}%")
    for wd in (1e-4, 1e-3):
        print(f"head, weight decay {wd}: {100 * fit_head(xtr, ytr, xva, yva, wd):.1f}%")


def fit_head(xtr, ytr, xva, yva, wd: float) -> float:
    n, v, d = xtr.shape
    c = int(ytr.max()) + 1
    x, y = 30 * xtr.reshape(n * v, d), ytr.repeat_interleave(v)
    w = torch.zeros(c, d, requires_grad=True)
    b = torch.zeros(c, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=200, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w.T + b, y) + wd * (w ** 2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    with torch.no_grad():
        return float(((30 * xva @ w.T + b).mean(1).argmax(1) == yva).float().mean())

if __name__ == "__main__":
    main()
