"""The training loop: presets, distillation, resume, progress callbacks, best-epoch selection."""
from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from assistant.inference.architectures import build_model, default_preprocessing, freeze_prefix
from assistant.inference.checkpoint import load_checkpoint, make_classes, save_checkpoint
from model.augment import POLICIES, augment, mixup
from model.calibrate import band_report, calibrate
from model.callbacks import TrainCallback
from model.config import TrainConfig
from model.data import scan_folder
from model.evaluate import metrics, predict_logits, use_bf16
from model.heldout import recipe_heldout, recipe_thresholds
from model.names import read_names
from model.report import write_report
from model.state import ResumeState, load_resume, resume_path, save_resume
from model.teacher import Teacher
from model.teacher_cache import TeacherCache, build_cache
from model.trainset import prepare_data

log = logging.getLogger(__name__)
#: the resumable state is written after an epoch once this many seconds have passed since the last
RESUME_EVERY_S = 30.0


@dataclass
class TrainResult:
    out: Path | None
    cancelled: bool = False
    history: list[dict] = field(default_factory=list)
    results: dict[str, dict] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("CUDA was asked for but no CUDA device is available")
    return torch.device(name)


def lr_at(cfg: TrainConfig, progress: float) -> float:
    """progress in epochs (fractional)."""
    if cfg.warmup_epochs and progress < cfg.warmup_epochs:
        return cfg.lr * (progress + 1e-3) / cfg.warmup_epochs
    if cfg.schedule == "constant":
        return cfg.lr
    span = max(cfg.epochs - cfg.warmup_epochs, 1e-6)
    t = min(max((progress - cfg.warmup_epochs) / span, 0.0), 1.0)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * t))


def make_optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}")


def size_for_epoch(cfg: TrainConfig, epoch: int) -> int:
    if cfg.train_size and epoch < cfg.epochs - cfg.full_size_epochs:
        return cfg.train_size
    return cfg.image_size


def train(cfg: TrainConfig, callback: TrainCallback | None = None, command: str = "") -> TrainResult:
    cb = callback or TrainCallback()
    started = time.monotonic()
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device)
    bf16 = use_bf16(device)
    # a mismatched --heldout-from fails now, not after hours of training
    heldout = recipe_heldout(cfg) if cfg.heldout_from else None
    # the network (and its ImageNet weights) first: a missing download fails before photo decoding
    classes, _ = scan_folder(cfg.data)
    prep = default_preprocessing(cfg.arch, cfg.image_size)
    model = build_model(cfg.arch, len(classes), cfg.pretrained, cfg.image_size)
    data = prepare_data(cfg, cb)
    assert data.classes == classes
    if cfg.init:
        load_init(model, cfg, classes)
    frozen = []
    if cfg.freeze == "features":
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith(("fc.", "_fc."))
    elif cfg.freeze:
        frozen = freeze_prefix(model, cfg.arch, int(cfg.freeze))
    model = model.to(device).to(memory_format=torch.channels_last)
    policy = POLICIES[cfg.augment]
    teacher, cache = make_teacher(cfg, classes, device, data.train_images, policy, cb)
    opt = make_optimizer(cfg, model.parameters())
    ema = copy.deepcopy(model).eval() if cfg.ema else None
    state = ResumeState()
    rpath = resume_path(cfg.out)
    if cfg.resume and rpath.exists():
        state = load_resume(rpath, cfg, model, opt, ema)
        cb.note("train_resumed", epoch=state.epoch)
    images = data.train_images.to(device)
    labels = data.train_labels.to(device)
    n = len(images)
    bs = min(cfg.batch_size, n)
    steps = max(n // bs, 1)
    gen = torch.Generator()
    cb.on_start(cfg.epochs, steps)
    deadline = started + 60 * cfg.max_minutes if cfg.max_minutes else None
    first_epoch, loop_started, requested = state.epoch, time.monotonic(), cfg.epochs
    paced_from = loop_started
    last_save = loop_started - RESUME_EVERY_S  # the first epoch always saves
    for epoch in range(state.epoch, cfg.epochs):
        if epoch >= cfg.epochs:
            break
        model.train()
        for module in frozen:
            module.eval()
        size = size_for_epoch(cfg, epoch)
        # seeded by the epoch: a run resumed at an epoch's end draws what an unbroken one draws
        gen.manual_seed(cfg.seed + 1000 * epoch)
        perm = torch.randperm(n, generator=gen).to(device)
        tot_loss = tot_correct = tot_seen = 0.0
        for step in range(steps):
            if cb.cancelled():
                cb.note("train_cancelled")
                return TrainResult(None, cancelled=True, history=state.history, skipped=data.skipped,
                                   seconds=time.monotonic() - started)
            for group in opt.param_groups:
                group["lr"] = lr_at(cfg, epoch + step / steps)
            idx = perm[step * bs:(step + 1) * bs]
            y = labels[idx]
            student_in, perm_b, lam, target = make_batch(cfg, images, idx, size, policy, gen,
                                                         teacher, cache)
            student_in = prep.normalize(student_in).contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                logits = model(student_in).float()
            loss = label_loss(cfg, logits, y, perm_b, lam)
            if target is not None:
                kd = F.kl_div(F.log_softmax(logits / cfg.temperature, 1), target,
                              reduction="batchmean") * cfg.temperature ** 2
                loss = cfg.distill_weight * kd + (1 - cfg.distill_weight) * loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if ema is not None:
                # timm-style warm-up: early on the average must not be dominated by the init
                done_steps = epoch * steps + step
                decay = min(cfg.ema, (1 + done_steps) / (10 + done_steps))
                with torch.no_grad():
                    for pe, pm in zip(ema.state_dict().values(), model.state_dict().values(), strict=True):
                        if pe.is_floating_point():
                            pe.lerp_(pm, 1 - decay)
                        else:
                            pe.copy_(pm)
            with torch.no_grad():
                labelled = y >= 0
                tot_correct += float((logits.argmax(1)[labelled] == y[labelled]).sum())
                tot_seen += float(labelled.sum())
                tot_loss += loss.item() * len(idx)
            cb.on_step(epoch, step + 1, steps, loss.item())
        judge = ema if ema is not None else model
        val = evaluate_split(judge, data.val_images, data.val_labels, classes, prep, device)
        row = {"epoch": epoch + 1, "size": size, "lr": lr_at(cfg, epoch + 1),
               "train_loss": round(tot_loss / max(steps * bs, 1), 4),
               "train_acc": round(tot_correct / tot_seen, 4) if tot_seen else None,
               "val_loss": val["loss"], "val_acc": val["top1"],
               "seconds": round(time.monotonic() - started, 1)}
        state.history.append(row)
        if is_better(cfg.select, row, state.best_row):
            state.best_row = row
            state.best_weights = {k: v.detach().to("cpu", copy=True) for k, v in judge.state_dict().items()}
        state.epoch = epoch + 1
        if time.monotonic() - last_save >= RESUME_EVERY_S:
            save_resume(rpath, cfg, state, model, opt, ema)
            last_save = time.monotonic()
        cb.on_epoch_end(epoch + 1, row)
        if epoch == first_epoch:
            paced_from = time.monotonic()  # the first epoch pays warm-ups: pace from the second
        elif deadline:
            fitted = min(requested, epochs_within(deadline, epoch - first_epoch, paced_from, epoch + 1))
            if fitted != cfg.epochs:
                # fit the schedule (cosine included) inside the time budget
                cfg.epochs = max(fitted, epoch + 1)
                cb.note("train_budget", minutes=cfg.max_minutes, epoch=cfg.epochs)
        if epoch + 1 >= cfg.epochs:
            break
    final = ema if ema is not None else model
    if cfg.select != "last" and state.best_weights is not None:
        final.load_state_dict(state.best_weights)
    # the file keeps fp16 weights: measure and calibrate exactly what is saved
    final.load_state_dict({k: v.half().float() if v.is_floating_point() else v
                           for k, v in final.state_dict().items()})
    # each photo goes through the network once: for the figures, the calibration and the bands
    val_logits, test_logits = (predict_logits(final, images, prep, device)
                               if images is not None and len(images) else None
                               for images in (data.val_images, data.test_images))
    results = {split: metrics(logits, labels, classes)
               for split, logits, labels in (("val", val_logits, data.val_labels),
                                             ("test", test_logits, data.test_labels))
               if logits is not None}
    calibration = None
    if val_logits is not None:  # temperature, bands and look-alikes from the validation photos
        calibration = calibrate(val_logits.numpy(), data.val_labels.numpy(), classes, "val",
                                recipe_thresholds(heldout), (heldout or {}).get("measured_on", ""),
                                (heldout or {}).get("lookalikes"))
        if test_logits is not None:  # what the announcer's bands do on photos nothing chose
            results["test"].update(band_report(test_logits.numpy(), data.test_labels.numpy(),
                                               calibration))
    seconds = time.monotonic() - started
    names = read_names(cfg.names, cfg.data)
    meta = {
        "architecture": cfg.arch,
        "classes": make_classes(classes, names),
        "preprocessing": prep.to_dict(),
        "metrics": {split: {k: v for k, v in res.items() if k != "confusion"} for split, res in results.items()},
        "training": {"command": command, "config": cfg.to_dict(), "seconds": round(seconds, 1),
                     "device": str(device), "best_epoch": (state.best_row or {}).get("epoch"),
                     "epochs_run": state.epoch, "train_photos": n, "skipped": len(data.skipped),
                     "lineage": lineage(cfg, state.epoch, seconds, results)},
    }
    if heldout is not None:
        meta["metrics"]["heldout"] = heldout
    if calibration is not None:
        meta["calibration"] = calibration
    out = save_checkpoint(cfg.out, final.state_dict(), meta)
    report = Path(cfg.report_dir) if cfg.report_dir else out.with_suffix(".report")
    write_report(report, state.history, results, classes,
                 {"skipped": [{"path": p, "reason": r} for p, r in data.skipped]})
    rpath.unlink(missing_ok=True)
    cb.note("train_saved", path=out)
    return TrainResult(out, False, state.history, results, data.skipped, seconds)


def make_teacher(cfg: TrainConfig, classes: list[str], device: torch.device, pool: torch.Tensor,
                 policy, cb: TrainCallback) -> tuple[Teacher | None, TeacherCache | None]:
    """The teacher that answers every view as it is made, or (cached_views > 0) the answers it
    gave once, ahead, on seeded views of the pool (the pool's uint8 photos in training order)."""
    if not cfg.teacher:
        return None, None
    if not cfg.cached_views:
        return Teacher(cfg.teacher, classes, device), None
    # asked once per view and never on a GPU's loop: each member runs as the app runs it
    teacher = Teacher(cfg.teacher, classes, device, backend="auto" if device.type == "cpu" else "torch")
    path = Path(cfg.teacher_cache) if cfg.teacher_cache else None
    return None, build_cache(teacher, pool, classes, cfg.seed, cfg.cached_views, policy, path, cb)


def make_batch(cfg: TrainConfig, images: torch.Tensor, idx: torch.Tensor, size: int, policy,
               gen: torch.Generator, teacher: Teacher | None, cache: TeacherCache | None):
    """The student's input at `size` (float [0, 1]), mixup's partner order and weight, and the
    teacher's probabilities for it (None without a teacher)."""
    target = None
    if cache is not None:
        # a fixed view of each photo, drawn anew each step; mixing two views mixes their answers
        views = torch.randint(cache.views, (len(idx),), generator=gen)
        view = cache.render(images[idx], idx.cpu(), views, size)
        target = cache.targets(idx, views, cfg.temperature).to(view.device)
        if cache.symmetric:  # the mirror image of a view has the same answer
            flip = (torch.rand(len(idx), generator=gen) < 0.5).view(-1, 1, 1, 1).to(view.device)
            view = torch.where(flip, view.flip(-1), view)
    else:
        view = augment(images[idx], policy, cfg.image_size if teacher else size, gen)
    perm_b, lam = None, 1.0
    if cfg.mixup > 0:
        view, perm_b, lam = mixup(view, cfg.mixup, gen)
        if target is not None:
            target = lam * target + (1 - lam) * target[perm_b]
    if teacher is not None:  # the teacher sees exactly the (mixed) view the student learns from
        target = teacher.probabilities(view, cfg.temperature)
    if view.shape[-1] != size:
        view = F.interpolate(view, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return view, perm_b, lam, target


def lineage(cfg: TrainConfig, epochs: int, seconds: float, results: dict) -> dict:
    """What the weights have seen in all: this run added to the runs of the --init checkpoint
    it started from (a model trained session by session keeps its whole history)."""
    from assistant.inference.checkpoint import read_metadata
    from assistant.machine import cpu_name
    from model.lineage import run_hours

    runs = []
    if cfg.init:
        before = read_metadata(cfg.init).get("training", {})
        runs = list(before.get("lineage", {}).get("runs", [])) or [{
            "epochs": before.get("epochs_run", 0), "seconds": before.get("seconds", 0.0),
            "threads": 2, "cpu": "", "command": before.get("command", "")}]
    runs.append({"epochs": epochs, "seconds": round(seconds, 1), "threads": torch.get_num_threads(),
                 "cpu": cpu_name(), "date": time.strftime("%Y-%m-%d"),
                 "top1": {k: v.get("top1") for k, v in results.items()}})
    return {"epochs": sum(int(r["epochs"]) for r in runs),
            "cpu_hours": round(sum(run_hours(r) for r in runs), 2),
            "runs": runs}


def load_init(model, cfg: TrainConfig, classes: list[str]) -> None:
    """Start from a trained checkpoint of the same architecture and products, head included."""
    ckpt = load_checkpoint(cfg.init)
    if ckpt.architecture != cfg.arch or ckpt.class_ids != classes:
        raise ValueError(f"{cfg.init}: --init needs a {cfg.arch} checkpoint of the same products "
                         f"in the same order (it is a {ckpt.architecture} of {len(ckpt.class_ids)})")
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ckpt.state_dict.items()})


def epochs_within(deadline: float, done_here: int, loop_started: float, epochs_done: int) -> int:
    """How many epochs in all fit before the deadline, from the pace of those run so far."""
    per_epoch = (time.monotonic() - loop_started) / max(done_here, 1)
    left = max(deadline - time.monotonic(), 0.0)
    return epochs_done + int(left // per_epoch) if per_epoch > 0 else epochs_done


def label_loss(cfg: TrainConfig, logits, y, perm_b, lam) -> torch.Tensor:
    mask = y >= 0
    if perm_b is not None:
        mask = mask & (y[perm_b] >= 0)
    if not bool(mask.any()):
        return logits.sum() * 0.0
    ce = F.cross_entropy(logits[mask], y[mask], label_smoothing=cfg.label_smoothing)
    if perm_b is not None and lam < 1.0:
        ce = lam * ce + (1 - lam) * F.cross_entropy(logits[mask], y[perm_b][mask],
                                                    label_smoothing=cfg.label_smoothing)
    return ce


def is_better(select: str, row: dict, best: dict | None) -> bool:
    if best is None or select == "last":
        return True
    if select == "val_loss" and row["val_loss"] is not None:
        return row["val_loss"] < best["val_loss"]
    if select == "val_acc" and row["val_acc"] is not None:
        return (row["val_acc"], -row["val_loss"]) > (best["val_acc"], -best["val_loss"])
    return True


def evaluate_split(model, images, labels, classes, prep, device) -> dict:
    if images is None or len(images) == 0:
        return metrics(torch.zeros(0, len(classes)), torch.zeros(0, dtype=torch.long), classes)
    logits = predict_logits(model, images, prep, device)
    return metrics(logits, labels, classes)
