"""A model trained on every photo takes its held-out figure from the same recipe's run that kept
the test photos out (the published protocol: choose the recipe on a held-out fold, then train the
shipped model on all the data). The recipe must match but for the split, or the figure says
nothing about this model."""
from __future__ import annotations

from pathlib import Path

from assistant.inference.checkpoint import load_checkpoint
from model.config import TrainConfig

#: settings that may differ between the held-out run and the all-photos run
NOT_RECIPE = {"data", "out", "split", "split_file", "report_dir", "resume", "heldout_from",
              "device", "max_minutes"}


class RecipeMismatch(ValueError):
    pass


def recipe_heldout(cfg: TrainConfig) -> dict:
    """metrics.heldout for a model trained with cfg, from cfg.heldout_from's test figure.
    Raises RecipeMismatch (or CheckpointError) before any training when it cannot apply."""
    ckpt = load_checkpoint(cfg.heldout_from)
    metrics = ckpt.meta.get("metrics", {})
    source = next((s for s in ("heldout", "test") if isinstance(metrics.get(s), dict)
                   and isinstance(metrics[s].get("top1"), int | float)), None)
    if source is None:
        raise RecipeMismatch(f"{cfg.heldout_from}: no held-out or test figure in its metadata")
    theirs = (ckpt.meta.get("training") or {}).get("config") or {}
    ours = cfg.to_dict()
    differ = sorted(k for k in ours if k not in NOT_RECIPE and k in theirs and theirs[k] != ours[k])
    missing = sorted(k for k in ours if k not in NOT_RECIPE and k not in theirs)
    if differ or missing:
        detail = ", ".join([f"{k}: {theirs[k]!r} there, {ours[k]!r} here" for k in differ]
                           + [f"{k}: not recorded there" for k in missing])
        raise RecipeMismatch(f"{cfg.heldout_from} was trained with another recipe ({detail})")
    figure = metrics[source]
    entry = {k: figure[k] for k in ("top1", "top3", "n", "per_class", "bands", "ece", "data")
             if k in figure}
    say, maybe = (ckpt.meta.get("calibration") or {}).get("say"), (ckpt.meta.get("calibration") or {}).get("maybe")
    if isinstance(say, int | float) and isinstance(maybe, int | float):
        # the announcer's thresholds under which those bands were measured
        entry["thresholds"] = {"say": say, "maybe": maybe}
    entry["measured_on"] = (f"the {source} photos of the same recipe's run {Path(cfg.heldout_from).name} "
                            f"(split {theirs.get('split_file') or theirs.get('split')}), "
                            "which this model was trained on")
    entry["from_sha256"] = ckpt.meta.get("weights_sha256") or ""
    return entry


def adopt_thresholds(calibration: dict, heldout: dict, val_logits, val_labels) -> dict:
    """The calibration of a model trained on every photo, with the announcer's thresholds of the
    held-out run instead of its own. Its own are fitted on its 294 validation photos, which also
    chose its epoch: a few photos at the margin move them far (Lite2 at 260 px: say >= 0.73 here,
    0.89 in the held-out run, where 0.73 was 96.4% right on its 1,018 test photos). The held-out
    run's were measured on its test photos (heldout["bands"]). Its own temperature stays: the
    thresholds are on calibrated probabilities, which the temperature makes comparable."""
    from assistant.inference.calibration import Calibration, bands
    say, maybe = heldout["thresholds"]["say"], heldout["thresholds"]["maybe"]
    probs = Calibration.from_meta({"calibration": calibration}).probabilities(val_logits)
    out = dict(calibration, say=say, maybe=maybe, bands=bands(probs, val_labels, say, maybe))
    out["thresholds_from"] = {"say": calibration["say"], "maybe": calibration["maybe"],
                              "fitted_here": "val", "used": heldout.get("measured_on", "")}
    return out
