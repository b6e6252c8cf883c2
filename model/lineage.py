"""What more compute bought a model trained session by session: its held-out figure against
the epochs and CPU hours it has seen in all, printed from the checkpoint's own metadata and its
last run's history (so the table cannot drift from the file).

    python -m model.lineage model/bundled/resnet18-freiburg.safetensors
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from assistant.inference.checkpoint import read_metadata


def run_hours(run: dict) -> float:
    """A run's CPU hours: the CPU time its processes used, where recorded; else (the runs up to
    and including 2026-12-07's third session's) its wall time times the threads it trained
    with, which overstates a run that shared its cores and understates one resumed with more
    threads."""
    if run.get("cpu_seconds") is not None:
        return run["cpu_seconds"] / 3600
    return run.get("seconds", 0) * run.get("threads", 1) / 3600


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def runs_table(meta: dict) -> list[str]:
    """One row per run: the totals so far and the test (fold 0) and validation figures."""
    lineage = meta.get("training", {}).get("lineage") or {}
    rows = ["| run | date | epochs (all) | CPU hours (all) | fold-0 top-1 | validation top-1 | CPU |",
            "|---|---|---|---|---|---|---|"]
    epochs = hours = 0.0
    for i, run in enumerate(lineage.get("runs", []), 1):
        epochs += run.get("epochs", 0)
        hours += run_hours(run)
        top1 = run.get("top1") or {}
        rows.append(f"| {i} | {run.get('date', '–')} | {epochs:.0f} | {hours:.2f} | "
                    f"{_pct(top1.get('test'))} | {_pct(top1.get('val'))} | {run.get('cpu') or '–'} |")
    return rows


def epochs_table(path: Path, meta: dict) -> list[str]:
    """The last run's validation figure epoch by epoch, against the CPU hours of all runs."""
    history_file = path.with_suffix(".report") / "history.json"
    if not history_file.exists():
        return []
    history = json.loads(history_file.read_text())
    runs = (meta.get("training", {}).get("lineage") or {}).get("runs", [])
    before = runs[:-1]
    threads = runs[-1].get("threads", 1) if runs else 1
    start_epochs = sum(r.get("epochs", 0) for r in before)
    start_hours = sum(run_hours(r) for r in before)
    rows = ["| epoch (all) | input px | CPU hours (all) | validation top-1 |", "|---|---|---|---|"]
    for row in history:
        hours = start_hours + run_hours({"threads": threads, **row})
        rows.append(f"| {start_epochs + row['epoch']} | {row.get('size', '–')} | {hours:.2f} | "
                    f"{_pct(row.get('val_acc'))} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path = Path(args[0])
    try:
        meta = read_metadata(path)
        print("\n".join(runs_table(meta)))
        epochs = epochs_table(path, meta)
    except (OSError, ValueError) as exc:
        print(f"lineage: {exc}", file=sys.stderr)
        return 2
    if epochs:
        print()
        print("\n".join(epochs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
