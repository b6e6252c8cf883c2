"""`train`, `evaluate` and `retrain` check the paths they are given before they import torch: a mistyped
folder, split file or model file is answered at once, in one line. Each command runs with
every import of torch refused (tests.helpers.refusing_imports)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_one_line_error, refusing_imports, run_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_torch(tmp_path, isolated_home):
    env, marker = refusing_imports(tmp_path, ("torch", "torchvision"), "torch must not be imported yet: ")
    yield env
    assert not marker.exists(), "torch was imported:\n" + marker.read_text()


def test_train_on_a_missing_folder_is_answered_before_torch(no_torch, tmp_path):
    missing = tmp_path / "no-photos-here"
    result = run_cli("train", "--data", str(missing), "--out", str(tmp_path / "m.safetensors"),
                     env=no_torch)
    assert_one_line_error(result, str(missing), "no such folder")


def test_train_with_a_missing_split_file_is_answered_before_torch(no_torch, tmp_path, photo_dir):
    missing = tmp_path / "split.csv"
    result = run_cli("train", "--data", str(photo_dir), "--out", str(tmp_path / "m.safetensors"),
                     "--split-file", str(missing), env=no_torch)
    assert_one_line_error(result, str(missing), "split file")


def test_evaluate_with_a_missing_model_or_folder_is_answered_before_torch(no_torch, tmp_path,
                                                                          photo_dir):
    missing = tmp_path / "nothing.safetensors"
    result = run_cli("evaluate", "--data", str(photo_dir), "--model", str(missing), env=no_torch)
    assert_one_line_error(result, "evaluate", str(missing), "no such model file")
    model = next((ROOT / "model" / "bundled").glob("*.safetensors"))
    result = run_cli("evaluate", "--data", str(tmp_path / "gone"), "--model", str(model),
                     env=no_torch)
    assert_one_line_error(result, "evaluate", str(tmp_path / "gone"), "no such folder")


def test_retrain_on_a_missing_folder_is_answered_before_torch(no_torch, tmp_path, photo_dir):
    """Trial item 8: `retrain` with a missing folder took 17 s (it imported torch first)."""
    missing = tmp_path / "new-products"
    result = run_cli("retrain", "--data", str(missing), "--out", str(tmp_path / "m.safetensors"),
                     env=no_torch)
    assert_one_line_error(result, str(missing), "no such folder")
    result = run_cli("retrain", "--data", str(photo_dir), "--base-data", str(tmp_path / "old"),
                     "--out", str(tmp_path / "m.safetensors"), env=no_torch)
    assert_one_line_error(result, str(tmp_path / "old"), "no such folder")


def test_train_with_a_product_short_of_photos_is_answered_before_torch(no_torch, tmp_path, photo_dir):
    """What training would refuse after reading every photo (fewer than 5 of one product) is
    said from the file count, before torch: 31 s under load for one line, before."""
    import shutil
    for extra in sorted((photo_dir / "green_tea").iterdir())[2:]:
        extra.unlink()
    shutil.copy(next((photo_dir / "red_sauce").iterdir()), photo_dir / "green_tea" / "notes.txt")
    result = run_cli("train", "--data", str(photo_dir), "--out", str(tmp_path / "m.safetensors"),
                     env=no_torch)
    assert_one_line_error(result, "green_tea (3 files)", "at least 5")
    assert not (tmp_path / "m.safetensors").exists()
