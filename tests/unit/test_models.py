"""Model versions: activation is atomic, the previous model stays, rollback, restore bundled."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.inference.checkpoint import CheckpointError, load_checkpoint, read_metadata
from assistant.store import models

ROOT = Path(__file__).resolve().parents[2]


def variant(src: Path, dest: Path, version: str) -> Path:
    """A copy of a checkpoint with a different version label (and so a different file)."""
    ckpt = load_checkpoint(src)
    from assistant.inference.checkpoint import save_checkpoint
    meta = dict(ckpt.meta)
    meta["version"] = version
    return save_checkpoint(dest, ckpt.state_dict, meta)


@pytest.fixture
def bundled(tmp_path, tiny_checkpoint, monkeypatch) -> Path:
    folder = tmp_path / "bundled"
    folder.mkdir()
    path = variant(tiny_checkpoint, folder / "bundled.safetensors", "bundled-1")
    monkeypatch.setattr(models, "bundled_dir", lambda: folder)
    return path


@pytest.fixture
def two(tmp_path, tiny_checkpoint) -> tuple[Path, Path]:
    return (variant(tiny_checkpoint, tmp_path / "a.safetensors", "A"),
            variant(tiny_checkpoint, tmp_path / "b.safetensors", "B"))


def version_of(path: Path) -> str:
    return read_metadata(path)["version"]


def test_without_a_pointer_the_bundled_model_is_active(bundled):
    assert models.active_model_path() == bundled
    assert models.is_bundled_active()


def test_activate_stores_a_copy_and_switches(bundled, two):
    a, _ = two
    stored = models.activate(a)
    assert stored.parent == models.versions_dir()
    assert models.active_model_path() == stored.resolve()
    a.unlink()  # the user's file may go away: the stored copy stays
    assert version_of(models.active_model_path()) == "A"
    assert load_checkpoint(models.active_model_path()).class_ids


def test_rollback_goes_back_one_model_at_a_time_then_to_bundled(bundled, two):
    a, b = two
    models.activate(a)
    models.activate(b)
    assert version_of(models.active_model_path()) == "B"
    assert version_of(models.rollback()) == "A"
    assert version_of(models.active_model_path()) == "A"
    assert models.rollback() == bundled
    assert models.active_model_path() == bundled
    with pytest.raises(CheckpointError, match="nothing to roll back"):
        models.rollback()


def test_restore_bundled_then_rollback_returns_to_the_user_model(bundled, two):
    a, _ = two
    models.activate(a)
    assert models.restore_bundled() == bundled
    assert models.is_bundled_active()
    assert version_of(models.rollback()) == "A"


def test_a_damaged_file_is_refused_and_the_pointer_is_unchanged(bundled, two, tmp_path):
    a, _ = two
    models.activate(a)
    before = models.active_pointer().read_text()
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(a.read_bytes()[: a.stat().st_size // 2])
    with pytest.raises(CheckpointError):
        models.activate(bad)
    assert models.active_pointer().read_text() == before
    assert not list(models.versions_dir().glob(".*"))


def test_a_failure_while_switching_keeps_the_old_pointer(bundled, two, monkeypatch):
    a, b = two
    models.activate(a)
    before = models.active_pointer().read_text()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(models.os, "replace", broken_replace)
        with pytest.raises(OSError):
            models.activate(b)
    assert models.active_pointer().read_text() == before
    assert not [p for p in models.versions_dir().iterdir() if p.name.startswith(".")]


def test_a_damaged_pointer_falls_back_to_bundled(bundled):
    models.active_pointer().write_text("{not json")
    assert models.active_model_path() == bundled
    models.active_pointer().write_text(json.dumps({"path": "/nowhere/x.safetensors"}))
    assert models.active_model_path() == bundled


def test_stale_temp_files_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = models.versions_dir() / f".x.safetensors.{dead}.tmp"
    live = models.versions_dir() / f".y.safetensors.{os.getpid()}.tmp"
    stale.write_bytes(b"half")
    live.write_bytes(b"being written")
    removed = models.remove_stale_temp()
    assert stale in removed and not stale.exists()
    assert live.exists()


def test_list_versions_marks_the_active_one(bundled, two):
    a, b = two
    models.activate(a)
    models.activate(b)
    listed = models.list_versions()
    assert [v.bundled for v in listed].count(True) == 1
    active = [v for v in listed if v.active]
    assert len(active) == 1 and active[0].label == "B"


def test_prune_keeps_what_rollback_needs(bundled, two):
    a, b = two
    for _ in range(3):
        models.activate(a)
        models.activate(b)
    models.prune(keep=1)
    pointer = models.read_pointer()
    for entry in [pointer["path"], *pointer["history"]]:
        if entry != models.BUNDLED:
            assert Path(entry).is_file()


CHURN = """
import sys
from assistant.store import models
a, b = sys.argv[1], sys.argv[2]
print("ready", flush=True)
while True:
    models.activate(a)
    models.activate(b)
    models.rollback()
"""


def test_killing_a_process_while_it_switches_models_leaves_a_loadable_model(bundled, two, tmp_path):
    """SIGKILL at several moments of activate/rollback loops: the pointer always names a
    complete model, and no temp file remains once a new process has cleaned up."""
    a, b = two
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for delay in (0.05, 0.2, 0.45, 0.8):
        proc = subprocess.Popen([sys.executable, "-c", CHURN, str(a), str(b)], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        active = models.active_model_path()
        if models.active_pointer().exists():  # absent only when killed before the first switch
            data = json.loads(models.active_pointer().read_text())  # never half-written
            assert data["path"] == models.BUNDLED or Path(data["path"]) == active
        assert version_of(active) in {"A", "B", "bundled-1"}
        load_checkpoint(active)
        models.remove_stale_temp()
        leftovers = [p for p in models.versions_dir().iterdir() if p.name.startswith(".")]
        leftovers += [p for p in models.active_pointer().parent.iterdir() if p.name.endswith(".tmp")]
        assert leftovers == []
        for stored in models.versions_dir().glob("*.safetensors"):
            load_checkpoint(stored)  # every stored version is complete


def test_activating_the_same_file_twice_keeps_one_version_and_lists_where_figures_come_from(
        tiny_checkpoint, isolated_home):
    first = models.activate(tiny_checkpoint)
    second = models.activate(tiny_checkpoint)
    assert first == second
    stored = [v for v in models.list_versions() if not v.bundled]
    assert len(stored) == 1 and stored[0].active
    assert stored[0].top1 == 0.5 and stored[0].measured_on == "test"
