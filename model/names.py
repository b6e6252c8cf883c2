"""Spoken product names (English, Spanish) for the classes of a data folder."""
from __future__ import annotations

import csv
from pathlib import Path


def read_names(names_file: str | None, data_dir: str | None = None) -> dict[str, dict[str, str]]:
    """{class id: {"en": ..., "es": ...}} from a CSV with columns class (or id), english, spanish.

    Without a file, a classes.csv in the data folder or its parent is used when it has those
    columns (as ../shared/data/freiburg/classes.csv does); otherwise no names (ids are spoken).
    """
    candidates = [Path(names_file)] if names_file else []
    if not names_file and data_dir:
        root = Path(data_dir)
        candidates += [root / "classes.csv", root.parent / "classes.csv"]
    for path in candidates:
        if not path.is_file():
            if names_file:
                raise FileNotFoundError(f"{path}: no such names file")
            continue
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        if not rows:
            continue
        key = "class" if "class" in rows[0] else "id" if "id" in rows[0] else None
        if key is None or not {"english", "spanish"} <= set(rows[0]):
            if names_file:
                raise ValueError(f"{path}: a names file needs the columns class,english,spanish")
            continue
        return {r[key]: {"en": r["english"].strip(), "es": r["spanish"].strip()} for r in rows}
    return {}
