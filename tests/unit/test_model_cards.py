"""The bundled models' figures in README.md and docs/models.md are printed from the checkpoints'
metadata by scripts/model_cards.py, so they cannot drift from the files."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("model_cards", ROOT / "scripts" / "model_cards.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_documents_carry_the_checkpoints_own_figures():
    assert _script().main(["--check"]) == 0, "run .venv/bin/python scripts/model_cards.py"


def test_a_figure_edited_by_hand_is_caught():
    cards = _script()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tampered = readme.replace("90.0% / 97.0%", "92.0% / 97.0%")
    assert tampered != readme, "the default's figure is no longer in the README"
    made = cards.blocks()["model-table"]
    assert cards.rewrite(tampered, "model-table", made) == readme


def test_the_default_is_marked_where_the_app_would_load_it():
    from assistant.store import models
    table = _script().blocks()["model-table"]
    row = next(line for line in table.splitlines() if "**default**" in line)
    assert f"`{models.bundled_default().stem}`" in row
