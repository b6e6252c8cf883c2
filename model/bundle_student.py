"""Bundle a distilled ResNet-18 when it beats the bundled one on the same held-out photos.

    python -m model.bundle_student STUDENT BUNDLED

Both checkpoints must record a test figure on the same number of photos (the recipe's fold 0);
the student replaces the bundled file (and its report folder) only when its top-1 is higher.
Exit 0: bundled; 1: not better (nothing changed); 2: the files cannot be compared.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from assistant.files import atomic_write
from assistant.inference.checkpoint import read_metadata


def test_figure(path: Path) -> tuple[float, int]:
    test = read_metadata(path).get("metrics", {}).get("test", {})
    if "top1" not in test:
        raise ValueError(f"{path}: no test figure in its metadata")
    return float(test["top1"]), int(test.get("n", 0))


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    student, bundled = Path(args[0]), Path(args[1])
    try:
        new, n_new = test_figure(student)
        old, n_old = test_figure(bundled) if bundled.exists() else (0.0, n_new)
    except (OSError, ValueError) as exc:
        print(f"bundle: {exc}", file=sys.stderr)
        return 2
    if n_new != n_old:
        print(f"bundle: the figures rest on different photos ({n_new} vs {n_old}); not compared",
              file=sys.stderr)
        return 2
    lineage = read_metadata(student).get("training", {}).get("lineage", {})
    print(f"student {new:.2%} vs bundled {old:.2%} on {n_new} held-out photos; "
          f"{lineage.get('epochs', '?')} epochs, {lineage.get('cpu_hours', '?')} CPU hours in all")
    if new <= old:
        print("bundle: not better; the bundled model stays", file=sys.stderr)
        return 1
    with atomic_write(bundled, suffix=".safetensors") as tmp:
        shutil.copyfile(student, tmp)
    report, target = student.with_suffix(".report"), bundled.with_suffix(".report")
    if report.is_dir():
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(report, target)
    print(f"bundled {bundled}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
