"""Issues 29 and 35: maintainer mode trains in a child process. The app's process never imports
torch for a retrain (nor for the activation after it); a child killed mid-retrain is one clear
message in the window, the model in use stays, and the window goes on working."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.store import models
from tests.ui import maintainer_helpers as maintainer
from tests.ui.helpers import press

Context, photos, wait_retrained = maintainer.Context, maintainer.photos, maintainer.wait_retrained
ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("pytestqt")


def test_a_retrain_through_the_dialog_leaves_torch_out_of_the_app(ready_checkpoint, tmp_path):
    """A fresh app process (the memory benchmark: ONNX Runtime classifier, maintainer mode, the
    Retrain button, then Activate): torch never enters it; its resident memory is printed."""
    folder = tmp_path / "photos"
    for name, colour, seed in (("yellow_oil", (220, 210, 40), 700), ("jam", (130, 40, 150), 800)):
        photos(folder / name, colour, seed=seed)
    run = subprocess.run([sys.executable, "-m", "assistant.ui.maintainer.memory_bench",
                          "--model", str(ready_checkpoint), "--photos", str(folder), "--activate"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    lines = [x for x in run.stdout.splitlines() if x.startswith("{")]
    assert lines, run.stderr[-2000:]
    figures = json.loads(lines[-1])
    assert figures["retrained"], figures
    assert figures["torch_in_app"] is False, figures
    assert "after_activation_mb" in figures and run.returncode == 0


def test_a_killed_training_child_is_a_message_and_the_model_stays(qtbot, open_dialog, base, tmp_path):
    ctx = Context(base)
    dialog = open_dialog(ctx)
    product = dialog.library.add("Yellow oil", "Aceite amarillo")
    dialog.library.import_folder(product.id, photos(tmp_path / "oil", (220, 210, 40)))
    dialog.refresh()
    press(qtbot, dialog, "Alt+N")
    qtbot.waitUntil(lambda: dialog.worker is not None and dialog.worker.job is not None)
    dialog.worker.job.proc.kill()   # as the out-of-memory killer would
    wait_retrained(qtbot, dialog)
    assert "stopped unexpectedly" in dialog.status.text(), dialog.status.text()
    assert ctx.speaker.heard("Retraining failed")
    assert dialog.result is None and not dialog.activate_button.isEnabled()
    assert models.active_model_path() == base.resolve() and ctx.loaded == []
    assert dialog.isVisible() and dialog.retrain_button.isEnabled()
    dialog.library.add("Jam", "Mermelada")  # the window still works
    dialog.refresh()
    assert dialog.products.count() == 2


def test_a_task_the_child_cannot_do_is_one_line_back(tmp_path):
    """No Qt: the child's own failure comes back as a 'failed' event, then 'ended'."""
    from assistant.maintainer.job import ChildJob
    events: list[dict] = []
    job = ChildJob({"kind": "no such task"}, events.append)
    job.start()
    assert job.wait(120)
    assert [e["event"] for e in events] == ["failed", "ended"]
    assert "unknown task" in events[0]["message"] and "message" not in events[1]
