"""`train` and `evaluate` check the paths they are given before they import torch: a mistyped
folder, split file or model file is answered at once, in one line. Each command runs with
every import of torch refused (tests.conftest.refusing_imports)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import refusing_imports
from tests.unit.test_cli import assert_one_line_error

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_torch(tmp_path, isolated_home):
    env, marker = refusing_imports(tmp_path, ("torch", "torchvision"), "torch must not be imported yet: ")
    yield env
    assert not marker.exists(), "torch was imported:\n" + marker.read_text()


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_train_on_a_missing_folder_is_answered_before_torch(no_torch, tmp_path):
    missing = tmp_path / "no-photos-here"
    result = run(no_torch, "train", "--data", str(missing), "--out", str(tmp_path / "m.safetensors"))
    assert_one_line_error(result, str(missing), "no such folder")


def test_train_with_a_missing_split_file_is_answered_before_torch(no_torch, tmp_path, photo_dir):
    missing = tmp_path / "split.csv"
    result = run(no_torch, "train", "--data", str(photo_dir), "--out", str(tmp_path / "m.safetensors"),
                 "--split-file", str(missing))
    assert_one_line_error(result, str(missing), "split file")


def test_evaluate_with_a_missing_model_or_folder_is_answered_before_torch(no_torch, tmp_path,
                                                                          photo_dir):
    missing = tmp_path / "nothing.safetensors"
    result = run(no_torch, "evaluate", "--data", str(photo_dir), "--model", str(missing))
    assert_one_line_error(result, "evaluate", str(missing), "no such model file")
    model = next((ROOT / "model" / "bundled").glob("*.safetensors"))
    result = run(no_torch, "evaluate", "--data", str(tmp_path / "gone"), "--model", str(model))
    assert_one_line_error(result, "evaluate", str(tmp_path / "gone"), "no such folder")
