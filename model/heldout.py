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
    # the announcer's thresholds under which those bands were measured
    cal = ckpt.meta.get("calibration") or {}
    shown = figure.get("thresholds") or {"say": cal.get("say"), "maybe": cal.get("maybe")}
    if "bands" in entry and _thresholds_ok(shown):
        entry["thresholds"] = {"say": shown["say"], "maybe": shown["maybe"]}
    entry["measured_on"] = (f"the {source} photos of the same recipe's run {Path(cfg.heldout_from).name} "
                            f"(split {theirs.get('split_file') or theirs.get('split')}), "
                            "which this model was trained on")
    entry["from_sha256"] = ckpt.meta.get("weights_sha256") or ""
    entry["mirror"] = ckpt.preprocessing.mirror  # measured with mirror averaging or not
    # the products the recipe confuses, from that run's held-out photos (more than this model's
    # validation photos show): this model names both of such a pair too
    entry["lookalikes"] = [p for p in cal.get("lookalikes", []) if isinstance(p, list) and len(p) == 3]
    return entry


def _thresholds_ok(t) -> bool:
    return (isinstance(t, dict) and all(isinstance(t.get(k), int | float) for k in ("say", "maybe"))
            and 0 < t["maybe"] <= t["say"] <= 1)


def recipe_thresholds(heldout: dict | None, mirror: bool = False) -> tuple[float, float] | None:
    """(say, maybe) for a model trained on every photo: those of its recipe's held-out run, which
    were measured on that run's test photos (heldout["bands"]); None when there are none.
    Its own, fitted on its 294 validation photos that also chose its epoch, swing with a few
    photos at the margin (Lite2 at 260 px: say >= 0.73 there, 0.89 in the held-out run, where
    0.73 was 96.4% right on its 1,018 test photos and 0.89 98.3%). The thresholds are on
    calibrated probabilities, so the model keeps its own temperature; and they are lent only
    between models that both do, or both do not, average the mirror image (`mirror`)."""
    t = (heldout or {}).get("thresholds")
    same = bool((heldout or {}).get("mirror", False)) == bool(mirror)
    return (t["say"], t["maybe"]) if _thresholds_ok(t) and same else None
