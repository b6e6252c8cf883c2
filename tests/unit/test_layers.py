"""The floors of the house (the import-linter layers contract in pyproject.toml): every room of
assistant/ stands on one floor, and an import that runs back up is caught."""
from __future__ import annotations

import pytest

from tests.helpers import ROOT, importlinter_config, lint_imports, plant


def layers() -> list[list[str]]:
    (contract,) = [c for c in importlinter_config()["contracts"] if c["type"] == "layers"]
    return [[m.strip() for m in layer.replace("|", ":").split(":")] for layer in contract["layers"]]


def test_every_room_of_the_assistant_stands_on_a_floor():
    placed = {m for layer in layers() for m in layer}
    rooms = {f"assistant.{p.stem if p.is_file() else p.name}" for p in (ROOT / "assistant").iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert rooms - placed == set(), "a new room of assistant/ must be given a floor in pyproject.toml"
    assert "model" in placed


def test_the_floors_run_from_the_entry_points_down_to_the_base():
    floors = layers()
    assert "assistant.ui" in floors[0] and "assistant.cli" in floors[0]
    assert floors[1] == ["model"]
    # the label reader serves training (label words), the app and the service alike
    assert floors[2] == ["assistant.reading"]
    assert {"assistant.live", "assistant.store"} == set(floors[3])
    assert floors[4] == ["assistant.inference"]
    assert {"assistant.paths", "assistant.files", "assistant.errors"} <= set(floors[5])


@pytest.mark.parametrize("relative, code, culprit", [
    # the shared inference code must not know the live flow above it
    ("assistant/inference/calibration.py", "def bands():\n    from assistant.live import announcer",
     "assistant.inference.calibration"),
    # nor the base the rooms above it
    ("assistant/errors.py", "from assistant.inference import checkpoint", "assistant.errors"),
    # the user's store does not reach up into training
    ("assistant/store/models.py", "def bundled():\n    import model", "assistant.store.models"),
    # live and store are one floor whose rooms do not import each other
    ("assistant/live/pipeline.py", "from assistant.store import library", "assistant.live.pipeline"),
])
def test_an_import_that_runs_back_up_breaks_the_layers(project_copy, relative, code, culprit):
    plant(project_copy, relative, code)
    result = lint_imports(project_copy)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout and culprit in result.stdout, result.stdout
