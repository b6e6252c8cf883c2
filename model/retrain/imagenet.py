"""ImageNet's upper blocks in a retrain: where `--adapt upper` starts them, and the network a
head-only fit reads its features from (the base's own, or, asked for by name, the base with
ImageNet's upper blocks)."""
from __future__ import annotations

import torch

from assistant.inference.checkpoint import save_checkpoint
from model.data import DataError
from model.retrain.config import mostly_new


def start_from_imagenet(cfg, new: int, products: int, arch: str, model, cb) -> bool:
    """Load ImageNet's weights into the upper blocks when asked (`--upper-start imagenet`) or,
    by default, when most of the new model's products are new to it: the model's own upper
    blocks were shaped for its old products (81 GroceryStore products at 224 px, val: 84.5% and
    81.4% from ImageNet's in two runs, 82.1% from the Freiburg default's; README)."""
    upper = upper_state(cfg, new, products, arch, model, cb)
    if upper is None:
        return False
    model.load_state_dict(upper, strict=False)
    cb.note("retrain_upper_imagenet")
    return True


def upper_state(cfg, new: int, products: int, arch: str, model, cb, user: str = "upper") -> dict | None:
    """ImageNet's weights of the model's upper blocks, when they should replace the model's own
    (see _start_from_imagenet), else None (and why, said). Only where the lower blocks, whose
    outputs are cached, are ImageNet's (the bundled EfficientNets: yes; a network trained from
    scratch: no), else the two would not fit. user: who asked by name, for the refusal's words
    ("upper": --adapt upper's start; "head": a head reading ImageNet's features)."""
    from assistant.inference.architectures import PretrainedError, architecture

    if cfg.upper_start == "model" or (cfg.upper_start == "auto" and not mostly_new(new, products)):
        return None
    a = architecture(arch)
    why = None
    if cfg.upper_start == "auto" and not a.imagenet_installed():
        why = "no_imagenet"  # by default only what is installed: nothing is downloaded unasked
    else:
        try:
            state = a.imagenet_state()
        except PretrainedError:
            why = "no_imagenet"
    if why is None:
        prefixes = a.upper_prefixes(model)
        own = {k: v for k, v in model.state_dict().items() if k != a.head + ".weight" and k != a.head + ".bias"}
        lower = [k for k, v in own.items() if not k.startswith(prefixes) and v.is_floating_point()]
        if any(k not in state or state[k].shape != own[k].shape for k in own) or not all(
                torch.allclose(own[k].float(), state[k].float(), rtol=1e-2, atol=1e-2) for k in lower):
            why = "lower_differs"
    if why is not None:
        if cfg.upper_start == "imagenet":
            raise DataError(f"--upper-start imagenet: {why.replace('_', ' ')}", message_id=f"err_{user}_{why}")
        cb.note(f"retrain_upper_{why}")
        return None
    return {k: v for k, v in state.items() if k.startswith(prefixes)}


def fresh_ids(cfg, plan) -> set[str]:
    """The products whose rows start afresh: new, replaced, or all of them with --only."""
    return set(plan.new) | set(plan.replaced) | (set(plan.classes) if cfg.only else set())


def features_checkpoint(cfg, base, plan, cb):
    """The network whose pooled features a head-only retrain reads: the base, unless asked for
    ImageNet's upper blocks by name (`retrain --only --upper-start imagenet`): then the base with
    ImageNet's upper blocks, as a checkpoint file in the cache folder (so its features go through
    ONNX Runtime like any model's).

    Not the default, by measurement (docs/retraining.md, "A head on ImageNet's features"): for
    the 81 GroceryStore products alone it is right more often (val 71.0%; 74.0% against 66.2%
    for the Freiburg default's features in a head fitted apart), but its own check is far more
    optimistic (88.0% held out of the train photos' bursts against 71.0% on val), so the "sure"
    band fitted on it was right only 87.8% of the time on val; and with the old products kept,
    their rows lose what the model's own upper blocks knew (the default's 25 Freiburg products:
    91.2% -> 69.6% on their held-out photos)."""
    from assistant import paths
    from assistant.inference.checkpoint import load_checkpoint, weights_digest

    new = len(fresh_ids(cfg, plan))
    if cfg.upper_start != "imagenet" or not cfg.only:  # asked for by name only: see the docstring
        return base
    upper = upper_state(cfg, new, len(plan.classes), base.architecture, base.network(), cb, "head")
    if upper is None:
        return base
    state = {**base.state_dict, **{k: v.to(base.state_dict[k].dtype) for k, v in upper.items()}}
    path = paths.cache_dir() / "bodies" / f"{weights_digest(state)[:24]}.safetensors"
    if not path.is_file():  # made once per base (atomically), then its features are cached
        save_checkpoint(path, state, base.meta)
    cb.note("retrain_features_imagenet")
    return load_checkpoint(path)
