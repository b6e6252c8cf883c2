"""The levers of `retrain --adapt upper`, measured apart from the product's code path (2026-12-07:
the lower blocks' maps through ONNX Runtime, cached on disk in /tmp/exp and reused; --split K
runs blocks 11..K-1 frozen once on them and learns from block K on): fine-tune
the upper blocks of a checkpoint (and a new head) on cached outputs of its lower blocks, several
augmented views per photo, for the 81 GroceryStore products (every train/ photo), and print the
top-1 on GroceryStore val after each pass. The figures in the README's maintainer section:

  PYTHONPATH=. .venv/bin/python scripts/levers_upper.py                       # the default's upper blocks, 6 views
  PYTHONPATH=. .venv/bin/python scripts/levers_upper.py --imagenet            # ImageNet's upper blocks instead
  PYTHONPATH=. .venv/bin/python scripts/levers_upper.py --imagenet --size 300 # ... learning at 300 px, not 224
  PYTHONPATH=. .venv/bin/python scripts/levers_upper.py --views 10            # 10 views (photo, mirror, 8 crops)
  PYTHONPATH=. .venv/bin/python scripts/levers_upper.py --policy strong       # stronger crops and colour jitter
  PYTHONPATH=. .venv/bin/python scripts/levers_upper.py --mixup 0.4           # manifold mixup of the cached maps
  PYTHONPATH=. .venv/bin/python scripts/levers_upper.py --imagenet --size 300 --split 15  # only blocks 15-20 learn
  PYTHONPATH=. .venv/bin/python scripts/levers_upper.py --imagenet --size 300 --split 15 --epochs 5 --use-views 3  # 3 views, 5 passes
  PYTHONPATH=. .venv/bin/python scripts/levers_upper.py --imagenet --size 300 --split 15 --epochs 5 --views 3 --bf16 0 --train-maps 15 --full-last 1  # passes on 15 x 15 maps, the last at 19 x 19

About 10-15 minutes each on a 2-core CPU. The product itself: model/retrain/fast.py.
"""
import argparse
import os
import time
from pathlib import Path

import onnxruntime as ort
import torch
import torch.nn.functional as F

from assistant.inference.architectures import build_model
from assistant.inference.checkpoint import load_checkpoint
from assistant.inference.vision import fit_square, load_image, to_chw
from model.augment import POLICIES, augment, resize_eval

ROOT = Path(__file__).resolve().parents[1]

G = ROOT.parent / "shared" / "data" / "grocerystore"
p = argparse.ArgumentParser()
p.add_argument("--model", default=str(ROOT / "model" / "bundled" / "efficientnet-lite2-freiburg.safetensors"))
p.add_argument("--imagenet", action="store_true", help="upper blocks from ImageNet, not the checkpoint")
p.add_argument("--split", type=int, default=11, help="blocks below stay frozen (cached)")
p.add_argument("--views", type=int, default=6)
p.add_argument("--epochs", type=int, default=8)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--head-lr", type=float, default=3e-3)
p.add_argument("--wd", type=float, default=0.05)
p.add_argument("--smooth", type=float, default=0.1)
p.add_argument("--size", type=int, default=224)
p.add_argument("--bf16", type=int, default=1)
p.add_argument("--train-bf16", type=int, default=0)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--policy", default="default")
p.add_argument("--max-photos", type=int, default=0)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--cache-split", type=int, default=11)
p.add_argument("--mixup", type=float, default=0.0, help="manifold mixup of the cached maps (Beta alpha)")
p.add_argument("--use-views", type=int, default=0, help="learn from the first N cached views only")
p.add_argument("--train-maps", type=int, default=0, help="learn on the cached maps resized to this side")
p.add_argument("--full-last", type=int, default=0, help="the last N passes on the maps as they are")
a = p.parse_args()
torch.manual_seed(0)
torch.set_num_threads(a.threads)


def load(split):
    files, labels = [], []
    classes = sorted(d.name for d in (G / "train").iterdir() if d.is_dir())
    for c in classes:
        d = G / split / c
        if not d.is_dir():
            continue
        for f in sorted(d.iterdir()):
            files.append(f)
            labels.append(classes.index(c))
    return files, torch.tensor(labels), classes


t0 = time.time()
tr_f, tr_y, classes = load("train")
va_f, va_y, _ = load("val")
if a.max_photos:
    idx = torch.randperm(len(tr_f))[:a.max_photos]
    tr_f = [tr_f[i] for i in idx]
    tr_y = tr_y[idx]
S = a.size
big = S * 8 // 7
tr = torch.stack([to_chw(fit_square(load_image(f), big)) for f in tr_f])
va = torch.stack([to_chw(fit_square(load_image(f), S)) for f in va_f])
print(f"decoded {len(tr)}+{len(va)} photos in {time.time()-t0:.0f}s", flush=True)

ck = load_checkpoint(a.model)
net = ck.network("cpu")
prep = ck.preprocessing
if a.imagenet:
    ref = build_model(ck.architecture, len(ck.class_ids), "imagenet", S)
    sd = {k: v for k, v in ref.state_dict().items() if not k.startswith("_fc.")}
    net.load_state_dict(sd, strict=False)
    net = net.eval().to(memory_format=torch.channels_last)
blocks = list(net._blocks)
K = a.split
ac = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(a.bf16))
act = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(a.train_bf16))


def lower(x):
    x = net._swish(net._bn0(net._conv_stem(x)))
    for b in blocks[:K]:
        x = b(x, drop_connect_rate=0.0)
    return x


def upper(x, train=False):
    n = len(blocks)
    for i, b in enumerate(blocks[K:], start=K):
        x = b(x, drop_connect_rate=(0.2 * i / n) if train else 0.0)
    x = net._swish(net._bn1(net._conv_head(x)))
    return torch.flatten(net._avg_pooling(x), 1)

K0 = a.cache_split


class Low(torch.nn.Module):
    def __init__(s_):
        super().__init__()
        s_.net = net

    def forward(s_, x):
        x = net._swish(net._bn0(net._conv_stem(x)))
        for b in blocks[:K0]:
            x = b(x, drop_connect_rate=0.0)
        return x


os.makedirs("/tmp/exp", exist_ok=True)
onnx_path = f"/tmp/exp/low{K0}_{S}.onnx"
if not os.path.exists(onnx_path):
    net = net.to(memory_format=torch.contiguous_format)
    with torch.inference_mode():
        torch.onnx.export(Low().eval(), (torch.zeros(1, 3, S, S),), onnx_path, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, opset_version=17, dynamo=False)
so = ort.SessionOptions()
so.intra_op_num_threads = a.threads
sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])

def cache(u8, views, policy):
    outs = []
    g = torch.Generator().manual_seed(1)
    for v in range(views):
        part = []
        for i in range(0, len(u8), 16):
            b = u8[i:i + 16]
            if v == 0:
                x = resize_eval(b, S) if b.shape[-1] != S else b.float() / 255
            elif v == 1:
                x = (resize_eval(b, S) if b.shape[-1] != S else b.float() / 255).flip(-1)
            else:
                x = augment(b, POLICIES[policy], S, g)
            x = prep.normalize(x).contiguous()
            part.append(torch.from_numpy(sess.run(None, {"x": x.numpy()})[0]).to(torch.bfloat16))
        outs.append(torch.cat(part))
    return torch.stack(outs, 1)

cpath = f"/tmp/exp/cache{K0}_{S}_{a.views}_{a.imagenet}.pt"
t1 = time.time()
if os.path.exists(cpath):
    ctr, cva = torch.load(cpath)
else:
    ctr = cache(tr, a.views, a.policy)
    cva = cache(va, 1, a.policy)[:, 0]
    torch.save((ctr, cva), cpath)
print(f"cached {tuple(ctr.shape)} ({ctr.numel()*2/1e6:.0f} MB) in {time.time()-t1:.0f}s", flush=True)
net = net.to(memory_format=torch.channels_last)
deeper_path = f"/tmp/exp/cache{K}_{S}_{a.views}_{a.imagenet}.pt"
if K > K0 and os.path.exists(deeper_path):
    ctr, cva = torch.load(deeper_path)
    K0 = K
    print("loaded", deeper_path, flush=True)
else:
    for k in range(K - 1, K0, -1):  # the deepest saved cache below K
        p_ = f"/tmp/exp/cache{k}_{S}_{a.views}_{a.imagenet}.pt"
        if os.path.exists(p_):
            ctr, cva = torch.load(p_)
            K0 = k
            print("loaded", p_, flush=True)
            break
if K > K0:
    @torch.inference_mode()
    def deeper(c):
        sh = c.shape
        flat = c.reshape(-1, *sh[-3:])
        out = []
        for i in range(0, len(flat), 64):
            x = flat[i:i + 64].float().contiguous(memory_format=torch.channels_last)
            for b in blocks[K0:K]:
                x = b(x, drop_connect_rate=0.0)
            out.append(x.to(torch.bfloat16))
        o = torch.cat(out)
        return o.reshape(*sh[:-3], *o.shape[1:])
    t2 = time.time()
    ctr, cva = deeper(ctr), deeper(cva)
    print(f"deeper to block {K}: {tuple(ctr.shape)} in {time.time()-t2:.0f}s", flush=True)
    torch.save((ctr, cva), deeper_path)

if a.use_views:
    ctr = ctr[:, :a.use_views]
head = torch.nn.Linear(net._fc.in_features, len(classes))
up_params = [p for b in blocks[K:] for p in b.parameters()] + list(net._conv_head.parameters()) + list(net._bn1.parameters())
for p_ in net.parameters():
    p_.requires_grad_(False)
for p_ in up_params:
    p_.requires_grad_(True)
opt = torch.optim.AdamW([{"params": up_params, "lr": a.lr}, {"params": head.parameters(), "lr": a.head_lr}],
                        weight_decay=a.wd)
B = a.batch
steps = a.epochs * -(-len(ctr) // B)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[a.lr, a.head_lr], total_steps=steps, pct_start=0.1)


@torch.inference_mode()
def evaluate():
    for b in blocks[K:]:
        b.eval()
    net._bn1.eval()
    preds = []
    for i in range(0, len(cva), 128):
        with act:
            preds.append(head(upper(cva[i:i + 128].float().contiguous(memory_format=torch.channels_last))).float())
    logits = torch.cat(preds)
    return (logits.argmax(1) == va_y).float().mean().item()


g = torch.Generator().manual_seed(2)
for ep in range(a.epochs):
    te = time.time()
    for b in blocks[K:]:
        b.train()
    net._bn1.train()
    perm = torch.randperm(len(ctr), generator=g)
    view = torch.randint(0, ctr.shape[1], (len(ctr),), generator=g)
    tot = 0.0
    for i in range(0, len(perm), B):
        idx = perm[i:i + B]
        x = ctr[idx, view[idx]].float()
        if a.train_maps and ep < a.epochs - a.full_last:
            x = F.interpolate(x, size=(a.train_maps, a.train_maps), mode="bilinear", align_corners=False, antialias=True)
        x = x.contiguous(memory_format=torch.channels_last)
        lam, perm2 = 1.0, None
        if a.mixup > 0:
            lam = float(torch.distributions.Beta(a.mixup, a.mixup).sample())
            perm2 = torch.randperm(len(idx), generator=g)
            x = lam * x + (1 - lam) * x[perm2]
        with act:
            out = head(upper(x, train=True))
        loss = lam * F.cross_entropy(out.float(), tr_y[idx], label_smoothing=a.smooth)
        if perm2 is not None:
            loss = loss + (1 - lam) * F.cross_entropy(out.float(), tr_y[idx][perm2], label_smoothing=a.smooth)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        tot += loss.item() * len(idx)
    acc = evaluate()
    print(f"epoch {ep+1} loss {tot/len(ctr):.3f} val {acc*100:.1f}% ({time.time()-te:.0f}s)", flush=True)
print(f"total {time.time()-t0:.0f}s")
