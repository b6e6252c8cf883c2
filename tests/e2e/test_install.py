"""Installed like an application: the wheel built from the checkout, installed into a folder
outside it, runs the headless app on its own demo photos from there (no file of the checkout
used), and installs a desktop entry named in both languages that starts that command.

The wheel is installed with --no-deps into a --target folder and run by this environment's
Python, whose packages stand in for what pip would install beside it (a fresh venv would need
the 5.5 GB of torch again)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: slow: a wheel built and installed by pip, then the installed command run (about 1.5 minutes of
#: one worker in the default run); CI's second step (`pytest -m slow`) runs it
pytestmark = pytest.mark.slow


#: what a clean checkout lacks: build outputs (a stale egg-info would bring files that the
#: package data no longer names) and what is not the package
NOT_SOURCES = (".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache", "runs",
               ".ruff_cache", "tests", "docs", "scripts")


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    shutil.copytree(ROOT, source, symlinks=True, copy_function=_link_or_copy,
                    ignore=shutil.ignore_patterns(*NOT_SOURCES))
    wheels = base / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(wheels), str(source)], check=True, capture_output=True)
    (wheel,) = wheels.glob("grocery_assistant-*.whl")
    site = base / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(site), str(wheel)], check=True, capture_output=True)
    return site


def _env(site: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DISPLAY")}
    env.update(PYTHONPATH=str(site), GROCERY_ASSISTANT_HOME=str(home),
               QT_QPA_PLATFORM="offscreen", GROCERY_ASSISTANT_SPEECH="silent")
    return env


def test_the_installed_command_names_the_demo_products_from_outside_the_checkout(installed,
                                                                                  tmp_path):
    script = installed / "bin" / "grocery-assistant"
    assert script.is_file(), "no console script grocery-assistant"
    env = _env(installed, tmp_path / "home")
    where = subprocess.run([sys.executable, "-c", "import assistant, model.bundled as _; "
                            "from assistant import paths; print(assistant.__file__); "
                            "print(paths.ASSETS_DIR); print(paths.BUNDLED_DIR)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True)
    for line in where.stdout.split():
        assert Path(line).resolve().is_relative_to(installed.resolve()), line
    said = tmp_path / "said.tsv"
    run = subprocess.run([sys.executable, str(script), "app", "--source", "demo", "--hold",
                          "0.5", "--once", "--engine", "silent", "--transcript", str(said)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    ids = [line.split("\t")[2] for line in said.read_text(encoding="utf-8").splitlines()]
    assert ids[0] == "ready" and "photos_ended" in ids, said.read_text(encoding="utf-8")
    assert {"juice", "milk"} <= set(ids), ids


def test_the_installed_desktop_entry_starts_the_installed_command_in_both_languages(installed,
                                                                                   tmp_path):
    script = installed / "bin" / "grocery-assistant"
    env = _env(installed, tmp_path / "home")
    subprocess.run([sys.executable, str(script), "desktop", "install", "--prefix",
                    str(tmp_path / "share")], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    entry = (tmp_path / "share" / "applications" / "grocery-assistant.desktop").read_text()
    fields = dict(line.split("=", 1) for line in entry.splitlines() if "=" in line)
    assert fields["Name"] == "Grocery assistant" and fields["Name[es]"] == "Asistente de compras"
    assert fields["Comment"] and fields["Comment[es]"] and fields["Comment"] != fields["Comment[es]"]
    assert fields["Exec"] == f"{script.resolve()} app"
    icon = tmp_path / "share" / "icons" / "hicolor" / "scalable" / "apps" / f"{fields['Icon']}.svg"
    assert icon.read_text().lstrip().startswith("<?xml")
