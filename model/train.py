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
from model.augment import POLICIES
from model.batches import label_loss, make_batch, make_teacher
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
from model.teacher_cache import TeacherCache
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


@dataclass
class Run:
    """What the phases of one training run share: the data on its device, the network, its
    optimizer, EMA and teacher, and the resumable state (epochs done, history, best weights)."""
    started: float
    device: torch.device
    bf16: bool
    heldout: dict | None
    classes: list[str]
    prep: object
    data: object
    model: torch.nn.Module
    frozen: list
    policy: object
    teacher: Teacher | None
    cache: TeacherCache | None
    opt: torch.optim.Optimizer
    ema: torch.nn.Module | None
    state: ResumeState
    rpath: Path
    images: torch.Tensor
    labels: torch.Tensor

    #: seconds the run had trained in earlier processes before this one resumed it, and the
    #: CPU seconds they used (None: not recorded by the version that ran them)
    before: float = 0.0
    cpu_before: float | None = 0.0
    #: time.process_time() when this process began the run
    cpu_started: float = field(default_factory=time.process_time)

    def elapsed(self) -> float:
        """Seconds of training in all, the parts before a resume included."""
        return self.before + time.monotonic() - self.started

    def cpu_seconds(self) -> float | None:
        """CPU seconds of the run in all, every thread of its processes (what the lineage's CPU
        hours count): the wall time times the threads overstates a run that shared its cores."""
        if self.cpu_before is None:
            return None
        return self.cpu_before + time.process_time() - self.cpu_started

    def judge(self) -> torch.nn.Module:
        """The weights that are measured and kept: the EMA's when there is one."""
        return self.ema if self.ema is not None else self.model


def train(cfg: TrainConfig, callback: TrainCallback | None = None, command: str = "") -> TrainResult:
    cb = callback or TrainCallback()
    run = load_run(cfg, cb)
    n = len(run.images)
    bs = min(cfg.batch_size, n)
    steps = max(n // bs, 1)
    gen = torch.Generator()
    cb.on_start(cfg.epochs, steps)
    deadline = run.started + 60 * cfg.max_minutes if cfg.max_minutes else None
    state = run.state
    first_epoch, loop_started, requested = state.epoch, time.monotonic(), cfg.epochs
    paced_from = loop_started
    last_save = loop_started - RESUME_EVERY_S  # the first epoch always saves
    for epoch in range(state.epoch, cfg.epochs):
        if epoch >= cfg.epochs:
            break
        row = train_one_epoch(cfg, run, epoch, gen, bs, steps, cb)
        if row is None:
            cb.note("train_cancelled")
            return TrainResult(None, cancelled=True, history=state.history, skipped=run.data.skipped,
                               seconds=run.elapsed())
        if time.monotonic() - last_save >= RESUME_EVERY_S:
            save_resume(run.rpath, cfg, state, run.model, run.opt, run.ema)
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
    final = final_network(cfg, run)
    results, calibration = measure(run, final)
    return save_run(cfg, run, final, results, calibration, command, cb)


def load_run(cfg: TrainConfig, cb: TrainCallback) -> Run:
    """Everything a run needs before its first step: the network, the photos, the teacher, the
    optimizer, and the state of an interrupted run when resuming."""
    started, cpu_started = time.monotonic(), time.process_time()
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
    return Run(started, device, bf16, heldout, classes, prep, data, model, frozen, policy, teacher,
               cache, opt, ema, state, rpath, data.train_images.to(device),
               data.train_labels.to(device),
               before=state.history[-1].get("seconds", 0.0) if state.history else 0.0,
               cpu_before=state.history[-1].get("cpu_seconds") if state.history else 0.0,
               cpu_started=cpu_started)


def train_one_epoch(cfg: TrainConfig, run: Run, epoch: int, gen: torch.Generator, bs: int,
                    steps: int, cb: TrainCallback) -> dict | None:
    """One pass over the training photos, then the validation figures: the epoch's history row
    (the best weights so far kept in run.state); None when the user cancelled mid-epoch."""
    model, device, state = run.model, run.device, run.state
    model.train()
    for module in run.frozen:
        module.eval()
    size = size_for_epoch(cfg, epoch)
    # seeded by the epoch: a run resumed at an epoch's end draws what an unbroken one draws
    gen.manual_seed(cfg.seed + 1000 * epoch)
    perm = torch.randperm(len(run.images), generator=gen).to(device)
    tot_loss = tot_correct = tot_seen = 0.0
    for step in range(steps):
        if cb.cancelled():
            return None
        for group in run.opt.param_groups:
            group["lr"] = lr_at(cfg, epoch + step / steps)
        idx = perm[step * bs:(step + 1) * bs]
        y = run.labels[idx]
        student_in, perm_b, lam, target = make_batch(cfg, run.images, idx, size, run.policy, gen,
                                                     run.teacher, run.cache)
        student_in = run.prep.normalize(student_in).contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=run.bf16):
            logits = model(student_in).float()
        loss = label_loss(cfg, logits, y, perm_b, lam)
        if target is not None:
            kd = F.kl_div(F.log_softmax(logits / cfg.temperature, 1), target,
                          reduction="batchmean") * cfg.temperature ** 2
            loss = cfg.distill_weight * kd + (1 - cfg.distill_weight) * loss
        run.opt.zero_grad(set_to_none=True)
        loss.backward()
        run.opt.step()
        if run.ema is not None:
            update_ema(run.ema, model, cfg.ema, epoch * steps + step)
        with torch.no_grad():
            labelled = y >= 0
            tot_correct += float((logits.argmax(1)[labelled] == y[labelled]).sum())
            tot_seen += float(labelled.sum())
            tot_loss += loss.item() * len(idx)
        cb.on_step(epoch, step + 1, steps, loss.item())
    judge = run.judge()
    val = evaluate_split(judge, run.data.val_images, run.data.val_labels, run.classes, run.prep, device)
    row = {"epoch": epoch + 1, "size": size, "lr": lr_at(cfg, epoch + 1),
           "train_loss": round(tot_loss / max(steps * bs, 1), 4),
           "train_acc": round(tot_correct / tot_seen, 4) if tot_seen else None,
           "val_loss": val["loss"], "val_acc": val["top1"],
           "seconds": round(run.elapsed(), 1), "cpu_seconds": _rounded(run.cpu_seconds())}
    state.history.append(row)
    if is_better(cfg.select, row, state.best_row):
        state.best_row = row
        state.best_weights = {k: v.detach().to("cpu", copy=True) for k, v in judge.state_dict().items()}
    state.epoch = epoch + 1
    return row


def update_ema(ema: torch.nn.Module, model: torch.nn.Module, most: float, done_steps: int) -> None:
    # timm-style warm-up: early on the average must not be dominated by the init
    decay = min(most, (1 + done_steps) / (10 + done_steps))
    with torch.no_grad():
        for pe, pm in zip(ema.state_dict().values(), model.state_dict().values(), strict=True):
            if pe.is_floating_point():
                pe.lerp_(pm, 1 - decay)
            else:
                pe.copy_(pm)


def final_network(cfg: TrainConfig, run: Run) -> torch.nn.Module:
    """The network to keep (the best epoch's unless --select last), rounded as it is saved."""
    final = run.judge()
    if cfg.select != "last" and run.state.best_weights is not None:
        final.load_state_dict(run.state.best_weights)
    # the file keeps fp16 weights: measure and calibrate exactly what is saved
    final.load_state_dict({k: v.half().float() if v.is_floating_point() else v
                           for k, v in final.state_dict().items()})
    return final


def measure(run: Run, final: torch.nn.Module) -> tuple[dict[str, dict], dict | None]:
    """The kept network's figures on the validation and test photos, and its calibration."""
    data, heldout = run.data, run.heldout
    # each photo goes through the network once: for the figures, the calibration and the bands
    val_logits, test_logits = (predict_logits(final, images, run.prep, run.device)
                               if images is not None and len(images) else None
                               for images in (data.val_images, data.test_images))
    results = {split: metrics(logits, labels, run.classes)
               for split, logits, labels in (("val", val_logits, data.val_labels),
                                             ("test", test_logits, data.test_labels))
               if logits is not None}
    calibration = None
    if val_logits is not None:  # temperature, bands and look-alikes from the validation photos
        calibration = calibrate(val_logits.numpy(), data.val_labels.numpy(), run.classes, "val",
                                recipe_thresholds(heldout), (heldout or {}).get("measured_on", ""),
                                (heldout or {}).get("lookalikes"))
        if test_logits is not None:  # what the announcer's bands do on photos nothing chose
            results["test"].update(band_report(test_logits.numpy(), data.test_labels.numpy(),
                                               calibration))
    return results, calibration


def save_run(cfg: TrainConfig, run: Run, final: torch.nn.Module, results: dict[str, dict],
             calibration: dict | None, command: str, cb: TrainCallback) -> TrainResult:
    """The checkpoint with its metadata (figures, calibration, how it was made) and the report;
    the resumable state goes, its work done."""
    state, data = run.state, run.data
    seconds = run.elapsed()
    names = read_names(cfg.names, cfg.data)
    meta = {
        "architecture": cfg.arch,
        "classes": make_classes(run.classes, names),
        "preprocessing": run.prep.to_dict(),
        "metrics": {split: {k: v for k, v in res.items() if k != "confusion"} for split, res in results.items()},
        "training": {"command": command, "config": cfg.to_dict(), "seconds": round(seconds, 1),
                     "device": str(run.device), "best_epoch": (state.best_row or {}).get("epoch"),
                     "epochs_run": state.epoch, "train_photos": len(run.images),
                     "skipped": len(data.skipped),
                     "lineage": lineage(cfg, state.epoch, seconds, results, run.cpu_seconds())},
    }
    if run.heldout is not None:
        meta["metrics"]["heldout"] = run.heldout
    if calibration is not None:
        meta["calibration"] = calibration
    out = save_checkpoint(cfg.out, final.state_dict(), meta)
    report = Path(cfg.report_dir) if cfg.report_dir else out.with_suffix(".report")
    write_report(report, state.history, results, run.classes,
                 {"skipped": [{"path": p, "reason": r} for p, r in data.skipped]})
    run.rpath.unlink(missing_ok=True)
    cb.note("train_saved", path=out)
    return TrainResult(out, False, state.history, results, data.skipped, seconds)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def lineage(cfg: TrainConfig, epochs: int, seconds: float, results: dict,
            cpu_seconds: float | None = None) -> dict:
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
                 **({} if cpu_seconds is None else {"cpu_seconds": round(cpu_seconds, 1)}),
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
