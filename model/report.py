"""The pictures the 2020 work showed: loss/accuracy curves, raw and normalised confusion."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_curves(history: list[dict], path: Path) -> Path:
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, label in (("train_loss", "training"), ("val_loss", "validation")):
        vals = [h.get(key) for h in history]
        if any(v is not None for v in vals):
            ax1.plot(epochs, vals, label=label)
    ax1.set_title("Loss per epoch")
    ax1.set_xlabel("epoch")
    ax1.legend()
    for key, label in (("train_acc", "training (augmented)"), ("val_acc", "validation")):
        vals = [h.get(key) for h in history]
        if any(v is not None for v in vals):
            ax2.plot(epochs, [None if v is None else 100 * v for v in vals], label=label)
    ax2.set_title("Top-1 accuracy per epoch (%)")
    ax2.set_xlabel("epoch")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_confusion(confusion: list[list[int]], labels: list[str], path: Path,
                   normalise: bool, title: str) -> Path:
    cm = np.asarray(confusion, dtype=float)
    if normalise:
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    n = len(labels)
    side = max(6.0, 0.32 * n + 2)
    fig, ax = plt.subplots(figsize=(side, side))
    im = ax.imshow(cm, cmap="Blues", vmin=0, vmax=1 if normalise else None)
    ax.set_xticks(range(n), labels, rotation=90, fontsize=8 if n <= 40 else 5)
    ax.set_yticks(range(n), labels, fontsize=8 if n <= 40 else 5)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if n <= 30:
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    text = f"{cm[i, j]:.2f}" if normalise else f"{int(cm[i, j])}"
                    ax.text(j, i, text, ha="center", va="center", fontsize=6,
                            color="white" if cm[i, j] > cm.max() / 2 else "black")
    fig.colorbar(im, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(folder: Path, history: list[dict], results: dict[str, dict], classes: list[str],
                 extra: dict | None = None) -> Path:
    """history.json, metrics.json, curves.png and confusion PNGs for each evaluated split.

    A folder that already holds a report (an `evaluate --report-dir` into a training report)
    keeps its curves and the results of other splits: only what is given here is replaced."""
    folder.mkdir(parents=True, exist_ok=True)
    if history or not (folder / "history.json").is_file():
        (folder / "history.json").write_text(json.dumps(history, indent=1))
    merged = {}
    try:
        merged = json.loads((folder / "metrics.json").read_text())
    except (OSError, ValueError):
        pass
    merged = merged if isinstance(merged, dict) else {}
    merged.update(extra or {})
    merged["results"] = {**(merged.get("results") or {}), **results}
    (folder / "metrics.json").write_text(json.dumps(merged, indent=1))
    if history:
        plot_curves(history, folder / "curves.png")
    for split, res in results.items():
        if res.get("confusion"):
            plot_confusion(res["confusion"], classes, folder / f"confusion_{split}.png", False,
                           f"Confusion matrix ({split}, {res['n']} photos)")
            plot_confusion(res["confusion"], classes, folder / f"confusion_{split}_normalised.png",
                           True, f"Normalised confusion matrix ({split}, top-1 {res['top1']:.1%})")
    return folder
