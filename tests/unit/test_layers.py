"""The floors of the house (the import-linter layers contract in pyproject.toml): every room of
assistant/ stands on one floor, and an import that runs back up is caught."""
from __future__ import annotations

import pytest

from tests.helpers import ROOT, importlinter_config, lint_imports, plant


def layers(container: str | None = None) -> list[list[str]]:
    """The floors of the house (container None), or of the rooms inside one package."""
    (contract,) = [c for c in importlinter_config()["contracts"]
                   if c["type"] == "layers" and container in (c.get("containers") or [None])]
    return [[m.strip() for m in layer.replace("|", ":").split(":")] for layer in contract["layers"]]


def floor_of(module: str, floors: list[list[str]]) -> int:
    (index,) = [i for i, floor in enumerate(floors) if module in floor]
    return index


def test_every_room_of_the_assistant_stands_on_a_floor():
    placed = {m for layer in layers() for m in layer}
    rooms = {f"assistant.{p.stem if p.is_file() else p.name}" for p in (ROOT / "assistant").iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert rooms - placed == set(), "a new room of assistant/ must be given a floor in pyproject.toml"
    assert "model" in placed


def test_the_floors_run_from_the_entry_points_down_to_the_base():
    floors = layers()
    assert "assistant.ui" in floors[0] and "assistant.cli" in floors[0]
    # each entry-point folder has a floor of its own, under the window and the command line
    # (benchmarks above what they measure; the service and classify side by side)
    assert floors[1] == ["assistant.bench"]
    assert set(floors[2]) == {"assistant.service", "assistant.batch"}
    # what the local and Ray engines of both share
    assert floors[3] == ["assistant.engines"]
    # the maintainer session (no Qt) below the window and the commands, above training
    assert floors[4] == ["assistant.maintainer"]
    model = floor_of("model", floors)
    assert floors[model] == ["model"] and model == 5
    # the label reader serves training (label words), the app and the service alike
    assert floors[model + 1] == ["assistant.reading"]
    assert {"assistant.live", "assistant.store"} == set(floors[model + 2])
    assert floors[model + 3] == ["assistant.inference"]
    # the catalogue of sentences and languages serves every floor above, so it is the base's
    assert {"assistant.paths", "assistant.files", "assistant.errors", "assistant.catalog"} <= set(floors[model + 4])


@pytest.mark.parametrize("package", ["service", "batch"])
def test_every_room_of_an_entry_point_folder_stands_on_a_floor(package):
    placed = {m for layer in layers(f"assistant.{package}") for m in layer}
    rooms = {p.stem for p in (ROOT / "assistant" / package).glob("*.py") if p.stem != "__init__"}
    assert rooms == placed, f"a new room of assistant/{package}/ must be given a floor"


@pytest.mark.parametrize("relative, code, culprit", [
    # the shared inference code must not know the live flow above it
    ("assistant/inference/calibration.py", "def bands():\n    from assistant.live import announcer",
     "assistant.inference.calibration"),
    # nor the base the rooms above it
    ("assistant/errors.py", "from assistant.inference import checkpoint", "assistant.errors"),
    ("assistant/catalog/spoken.py", "from assistant.live import announcer", "assistant.catalog.spoken"),
    # the user's store does not reach up into training
    ("assistant/store/models.py", "def bundled():\n    import model", "assistant.store.models"),
    # live and store are one floor whose rooms do not import each other
    ("assistant/live/pipeline.py", "from assistant.store import library", "assistant.live.pipeline"),
    # the service and classify are rooms of one floor: neither borrows from the other
    ("assistant/batch/photos.py", "def later():\n    from assistant.service import upload",
     "assistant.batch.photos"),
    # the service does not reach up into the benchmarks that measure it
    ("assistant/service/guard.py", "def later():\n    from assistant.bench import runtime",
     "assistant.service.guard"),
    # the circles that came with the Ray engines stay broken: the app does not import the Ray
    # service built on it, nor the Ray proxy the app's limits
    ("assistant/service/app.py", "def later():\n    from assistant.service import on_ray",
     "assistant.service.app"),
    ("assistant/service/ray_proxy.py", "def later():\n    from assistant.service import app",
     "assistant.service.ray_proxy"),
    # ... nor does the local engine of classify the command that picks it
    ("assistant/batch/local.py", "def later():\n    from assistant.batch import command",
     "assistant.batch.local"),
])
def test_an_import_that_runs_back_up_breaks_the_layers(project_copy, relative, code, culprit):
    plant(project_copy, relative, code)
    result = lint_imports(project_copy)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout and culprit in result.stdout, result.stdout
