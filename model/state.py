"""Resumable training state: model, optimizer, EMA, best weights and history in one
safetensors file (no pickle), replaced atomically after every epoch."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from assistant.files import atomic_write
from model.config import TrainConfig

#: settings that may change between a crash and its resume without spoiling the run
_RESUMABLE_CHANGES = {"resume", "max_minutes", "device", "report_dir", "epochs",
                      "teacher_cache", "init"}  # init: the weights a resume replaces anyway


@dataclass
class ResumeState:
    epoch: int = 0
    history: list[dict] = field(default_factory=list)
    best_row: dict | None = None
    best_weights: dict[str, torch.Tensor] | None = None


def resume_path(out: str | os.PathLike) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".resume")


def _flatten(obj, prefix: str, tensors: dict):
    """Replace tensors by references so the rest fits in JSON."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj.detach().to("cpu").contiguous().clone()
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        return {"__dict__": [[_key(k), _flatten(v, f"{prefix}.{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, list | tuple):
        return [_flatten(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    return obj


def _key(k):
    return {"__int__": k} if isinstance(k, int) else k


def _unflatten(obj, tensors: dict):
    if isinstance(obj, dict) and "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if isinstance(obj, dict) and "__dict__" in obj:
        return {(k["__int__"] if isinstance(k, dict) else k): _unflatten(v, tensors) for k, v in obj["__dict__"]}
    if isinstance(obj, list):
        return [_unflatten(v, tensors) for v in obj]
    return obj


def save_resume(path: Path, cfg: TrainConfig, state: ResumeState, model, opt, ema) -> None:
    tensors: dict[str, torch.Tensor] = {}
    skeleton = {
        "model": _flatten(model.state_dict(), "model", tensors),
        "optimizer": _flatten(opt.state_dict(), "optimizer", tensors),
        "ema": _flatten(ema.state_dict(), "ema", tensors) if ema is not None else None,
        "best": _flatten(state.best_weights, "best", tensors) if state.best_weights else None,
    }
    meta = {"config": cfg.to_dict(), "epoch": state.epoch, "history": state.history,
            "best_row": state.best_row, "skeleton": skeleton}
    with atomic_write(path) as tmp:  # --out may name a folder not made yet: atomic_write makes it
        save_file(tensors, str(tmp), metadata={"resume": json.dumps(meta)})


def load_resume(path: Path, cfg: TrainConfig, model, opt, ema) -> ResumeState:
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads(f.metadata()["resume"])
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:
        raise ValueError(f"{path}: the saved training state is damaged ({exc}); delete it to start again") from exc
    saved = meta["config"]
    changed = sorted(k for k, v in cfg.to_dict().items()
                     if k not in _RESUMABLE_CHANGES and saved.get(k) != v)
    if changed:
        raise ValueError(f"{path}: cannot resume, these settings differ from the interrupted run: "
                         f"{', '.join(changed)}")
    sk = meta["skeleton"]
    model.load_state_dict(_unflatten(sk["model"], tensors))
    opt.load_state_dict(_unflatten(sk["optimizer"], tensors))
    if ema is not None and sk["ema"] is not None:
        ema.load_state_dict(_unflatten(sk["ema"], tensors))
    best = _unflatten(sk["best"], tensors) if sk["best"] else None
    return ResumeState(meta["epoch"], meta["history"], meta["best_row"], best)
