"""Core code never imports Qt: only assistant/ui/ may. Checked twice, by an AST walk of our own
and by import-linter's contracts in pyproject.toml, and both checks are shown to catch a
planted violation."""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from tests.helpers import importlinter_config, lint_imports, plant

ROOT = Path(__file__).resolve().parents[2]
QT_MODULES = ("PySide6", "shiboken6", "PySide2", "PyQt5", "PyQt6", "qtpy")
UI = ROOT / "assistant" / "ui"


def core_files() -> list[Path]:
    files = [ROOT / "main.py"]
    for package in ("assistant", "model"):
        files += sorted((ROOT / package).rglob("*.py"))
    return [f for f in files if UI not in f.parents and "__pycache__" not in f.parts]


def qt_imports(source: str, filename: str = "<source>") -> list[str]:
    """'line: module' for every import of a Qt binding, including importlib/__import__ calls."""
    found = []

    def check(name: str | None, line: int) -> None:
        if name and name.split(".")[0] in QT_MODULES:
            found.append(f"{line}: {name}")

    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                check(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            check(node.module, node.lineno)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                check(node.args[0].value, node.lineno)
    return found


def test_no_core_module_imports_qt():
    files = core_files()
    assert len(files) > 10, "the walk found too few files; has the layout changed?"
    offenders = {str(f.relative_to(ROOT)): hits for f in files
                 if (hits := qt_imports(f.read_text(encoding="utf-8"), str(f)))}
    assert not offenders, f"Qt imported outside assistant/ui/: {offenders}"


@pytest.mark.parametrize("source", [
    "import PySide6",
    "from PySide6.QtWidgets import QApplication",
    "import shiboken6 as sb",
    "def later():\n    from PySide6 import QtCore\n",
    "import importlib\nimportlib.import_module('PySide6.QtGui')",
    "__import__('PyQt5.QtCore')",
    "from qtpy import QtWidgets",
])
def test_the_walk_catches_every_way_of_importing_qt(source):
    assert qt_imports(source)


@pytest.mark.parametrize("source", [
    "import numpy", "from assistant import vision", "from . import PySide6_like",
    "x = 'PySide6'", "import pyside6_helpers_that_do_not_exist",
])
def test_the_walk_lets_the_rest_pass(source):
    assert not qt_imports(source)


# --- import-linter ----------------------------------------------------------------------------

def test_import_linter_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_contracts_cover_every_package_whole():
    """Whole packages are the contract's sources, so a module added anywhere is covered; a
    new top-level package must be added here (and to setuptools) or this test fails."""
    config = importlinter_config()
    packages = {p.name for p in ROOT.iterdir()
                if p.is_dir() and (p / "__init__.py").exists() and p.name != "tests"}
    assert packages == set(config["root_packages"])
    contracts = {c["type"]: c for c in config["contracts"]}
    forbidden = contracts["forbidden"]
    assert set(forbidden["source_modules"]) == packages
    assert {"PySide6", "shiboken6"} <= set(forbidden["forbidden_modules"])
    # the only exemption is for assistant.ui itself...
    assert all(rule.split(" -> ")[0] in ("assistant.ui", "assistant.ui.**")
               for rule in forbidden.get("ignore_imports", []))
    # ...and nothing outside assistant.ui may import assistant.ui (so reach Qt through it)
    protected = contracts["protected"]
    assert protected["protected_modules"] == ["assistant.ui"]
    assert protected["allowed_importers"] == ["assistant.ui"]
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert {p.rstrip("*") for p in setuptools["packages"]["find"]["include"]} == packages


@pytest.mark.parametrize("relative, code, culprit", [
    ("assistant/inference/vision.py", "import PySide6.QtCore", "assistant.inference.vision"),
    ("model/report.py", "def show():\n    from PySide6 import QtWidgets", "model.report"),
    ("assistant/brand_new_room.py", "from shiboken6 import isValid", "assistant.brand_new_room"),
    # reaching Qt through the ui package is caught by the protected contract
    ("model/data.py", "def ask():\n    from assistant.ui import widgets", "model.data"),
])
def test_import_linter_breaks_on_a_planted_violation(project_copy, relative, code, culprit):
    plant(project_copy, relative, code)
    result = lint_imports(project_copy)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout and culprit in result.stdout, result.stdout


def test_import_linter_lets_assistant_ui_import_qt(project_copy):
    plant(project_copy, "assistant/ui/planted_window.py", "from PySide6.QtWidgets import QWidget")
    result = lint_imports(project_copy)
    assert result.returncode == 0, result.stdout + result.stderr
