"""Print the bundled models' figures from their own metadata, into README.md and docs/models.md.

The figures a checkpoint carries (held-out and validation accuracy, input size, mirror
averaging, calibration, training time and command) are copied by this script, never by hand,
so the documents cannot drift from the files: each document holds a block between
`<!-- generated: NAME -->` and `<!-- /generated -->` that this script rewrites.

    .venv/bin/python scripts/model_cards.py           # rewrite the blocks
    .venv/bin/python scripts/model_cards.py --check   # exit 1 when a block is stale (a test runs it)
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from assistant.inference.checkpoint import read_metadata
from assistant.store import models

ROOT = Path(__file__).resolve().parent.parent

DOCS = {"README.md": "model-table", "docs/models.md": "model-cards"}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _size_mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"


def _input(meta: dict) -> str:
    pre = meta["preprocessing"]
    return f"{pre['size']} px" + (", mirror averaging" if pre.get("mirror") else "")


def table(paths: list[Path], default: Path) -> str:
    rows = ["| checkpoint | input | held-out top-1 / top-3 (Freiburg fold 0) | validation top-1 (at training) | file |",
            "|---|---|---|---|---|"]
    for path in paths:
        meta = read_metadata(path)
        held, val = meta["metrics"]["heldout"], meta["metrics"].get("val", {})
        mark = " (**default**)" if path == default else ""
        rows.append(f"| `{path.stem}`{mark} | {_input(meta)} | {_pct(held['top1'])} / "
                    f"{_pct(held['top3'])} ({held['n']} photos) | {_pct(val.get('top1'))} "
                    f"({val.get('n', '-')} photos) | {_size_mb(path)} |")
    return "\n".join(rows)


def _bands(bands: dict | None) -> str:
    if not bands:
        return "not measured on these photos"
    say, maybe, silent = bands["say"], bands["maybe"], bands["silent"]
    return (f"said as sure {_pct(say['coverage'])} of photos ({_pct(say['right'])} right), "
            f"\"not sure, maybe\" {_pct(maybe['coverage'])} ({_pct(maybe['right'])} right), "
            f"silent {_pct(silent['coverage'])}")


def card(path: Path, default: Path) -> str:
    meta = read_metadata(path)
    held, val = meta["metrics"]["heldout"], meta["metrics"].get("val", {})
    cal, train = meta.get("calibration", {}), meta["training"]
    pairs = ", ".join(f"{a}/{b}" for a, b, _ in cal.get("lookalikes", [])) or "none"
    measured_on = held.get("measured_on", "photos no step of its training saw")
    lines = [
        f"### `{path.stem}`" + (" (the default)" if path == default else ""),
        "",
        f"- Architecture: {meta['architecture']}, {meta['num_classes']} products, input "
        f"{_input(meta)}, {_size_mb(path)} (created {meta['created'][:10]}).",
        f"- Held-out top-1 / top-3: **{_pct(held['top1'])} / {_pct(held['top3'])}** on "
        f"{held['n']} photos ({measured_on}).",
        f"- Validation top-1: {_pct(val.get('top1'))} on {val.get('n', '-')} photos.",
        f"- Calibration: temperature {cal.get('temperature', '-')}, say >= {cal.get('say', '-')}, "
        f"maybe >= {cal.get('maybe', '-')}; on the held-out photos: {_bands(held.get('bands'))}.",
        f"- Look-alike pairs: {pairs}.",
        f"- Training: {train['epochs_run']} epochs (best {train['best_epoch']}), "
        f"{train['train_photos']} photos, {train['seconds'] / 60:.0f} min on {train['device']}.",
        *([f"- Trained session by session: {train['lineage']['epochs']} epochs and "
           f"{train['lineage']['cpu_hours']} CPU hours in all, over {len(train['lineage']['runs'])} "
           f"runs (`python -m model.lineage {path.relative_to(ROOT)}` prints the figure after each)."]
          if train.get("lineage") else []),
        "",
        "```",
        train["command"],
        "```",
    ]
    return "\n".join(lines)


def blocks() -> dict[str, str]:
    paths = models.bundled_models()
    default = models.bundled_default()
    ordered = sorted(paths, key=lambda p: (p != default, p.stem))
    return {"model-table": table(ordered, default),
            "model-cards": "\n\n".join(card(p, default) for p in ordered)}


def rewrite(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- generated: {name} -->\n).*?(<!-- /generated -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"no <!-- generated: {name} --> block")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a document is stale")
    args = parser.parse_args(argv)
    made = blocks()
    stale = []
    for doc, name in DOCS.items():
        path = ROOT / doc
        old = path.read_text(encoding="utf-8")
        new = rewrite(old, name, made[name])
        if new != old:
            stale.append(doc)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    if args.check and stale:
        print(f"stale model figures in {', '.join(stale)}: run scripts/model_cards.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
