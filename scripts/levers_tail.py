"""The tail of `retrain --adapt upper` (model/retrain/refit.py refit_upper), measured apart from the
product (2026-12-07, fifth session): phase A learns from the 2,640 GroceryStore train photos less
the 303 a product run held out in bursts (its report.json), phase B goes on for --tail passes on
all of them at --tail-lr; GroceryStore val top-1 after each pass. Reads the cache levers_upper.py
leaves (/tmp/exp/cache15_300_6_True.pt: `--imagenet --size 300 --split 15` first).

  PYTHONPATH=. .venv/bin/python scripts/levers_tail.py --epochs 5 --tail 2 --views 3
"""
import argparse, json, sys, time, torch, torch.nn.functional as F
from pathlib import Path
sys.path.insert(0, "/work/main")
from assistant.inference.checkpoint import load_checkpoint
from assistant.inference.architectures import build_model
p = argparse.ArgumentParser()
p.add_argument("--epochs", type=int, default=5); p.add_argument("--tail", type=int, default=1)
p.add_argument("--tail-lr", type=float, default=3e-4); p.add_argument("--views", type=int, default=3)
p.add_argument("--threads", type=int, default=1); p.add_argument("--no-holdout", action="store_true")
a = p.parse_args()
torch.manual_seed(0); torch.set_num_threads(a.threads)
G = Path("/work/shared/data/grocerystore")
classes = sorted(d.name for d in (G / "train").iterdir() if d.is_dir())
files = [f for c in classes for f in sorted((G / "train" / c).iterdir())]
ty = torch.tensor([classes.index(f.parent.name) for f in files])
va_y = torch.tensor([classes.index(c) for c in classes if (G / "val" / c).is_dir() for _ in sorted((G / "val" / c).iterdir())])
p_report = "/tmp/bench_retrain_v_nkb_v7/grocery-fast.report/report.json"  # a product run's held-out photos
r = json.load(open(p_report))
held = {f for f, _ in r["heldout_photos"]}
is_held = torch.tensor([str(f) in held for f in files])
ctr, cva = torch.load("/tmp/exp/cache15_300_6_True.pt")
ctr = ctr[:, :a.views]
print("held", int(is_held.sum()), "views", ctr.shape[1], flush=True)
ck = load_checkpoint("/work/main/model/bundled/efficientnet-lite2-freiburg.safetensors")
net = ck.network("cpu")
ref = build_model(ck.architecture, len(ck.class_ids), "imagenet", 300)
net.load_state_dict({k: v for k, v in ref.state_dict().items() if not k.startswith("_fc.")}, strict=False)
net = net.eval().to(memory_format=torch.channels_last)
blocks = list(net._blocks); K = 15
def upper(x, train=False):
    for i, b in enumerate(blocks[K:], start=K):
        x = b(x, drop_connect_rate=(0.2 * i / len(blocks)) if train else 0.0)
    return torch.flatten(net._avg_pooling(net._swish(net._bn1(net._conv_head(x)))), 1)
head = torch.nn.Linear(1280, len(classes))
mods = blocks[K:] + [net._conv_head, net._bn1]
params = [q for m in mods for q in m.parameters()]
for q in net.parameters(): q.requires_grad_(False)
for q in params: q.requires_grad_(True)
@torch.inference_mode()
def evaluate(x):
    for m in mods: m.eval()
    return torch.cat([head(upper(x[i:i+128].float().contiguous(memory_format=torch.channels_last))) for i in range(0, len(x), 128)])
def run(idx_all, epochs, lr, hlr, gen, tag):
    opt = torch.optim.AdamW([{"params": params, "lr": lr}, {"params": head.parameters(), "lr": hlr}], weight_decay=0.05)
    steps = epochs * -(-len(idx_all) // 32)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[lr, hlr], total_steps=steps, pct_start=0.1 if tag == "A" else 0.3)
    for ep in range(epochs):
        te = time.time()
        for m in mods: m.train()
        perm = idx_all[torch.randperm(len(idx_all), generator=gen)]
        view = torch.randint(0, ctr.shape[1], (len(perm),), generator=gen)
        for i in range(0, len(perm), 32):
            idx = perm[i:i+32]; v = view[i:i+32]
            x = ctr[idx, v].float().contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(head(upper(x, True)), ty[idx], label_smoothing=0.1)
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
        acc = (evaluate(cva).argmax(1) == va_y).float().mean().item()
        hacc = (evaluate(ctr[is_held, 0]).argmax(1) == ty[is_held]).float().mean().item()
        print(f"{tag} epoch {ep+1}: val {acc*100:.1f}%  held-out {hacc*100:.1f}% ({time.time()-te:.0f}s)", flush=True)
g = torch.Generator().manual_seed(2)
train_idx = torch.arange(len(files)) if a.no_holdout else torch.nonzero(~is_held).flatten()
run(train_idx, a.epochs, 1e-3, 3e-3, g, "A")
if a.tail:
    run(torch.arange(len(files)), a.tail, a.tail_lr, 3 * a.tail_lr, g, "B")
