"""The app reads the pack in view for a model with label words (and fuses them into
recognition), and stops when a model without them is loaded."""
from __future__ import annotations

import threading

from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
from assistant.reading import NullOcrEngine, TextBox
from assistant.reading import engine as engine_mod

WORDS = {"blue_milk": {"ekologisk": 1.0, "mellanmjolk": 1.0}}


def test_a_model_with_label_words_gets_a_watch_and_one_without_loses_it(
        make_window, qtbot, tiny_checkpoint, tmp_path, monkeypatch):
    plain = tmp_path / "plain.safetensors"
    plain.write_bytes(tiny_checkpoint.read_bytes())
    ckpt = load_checkpoint(tiny_checkpoint)
    save_checkpoint(tiny_checkpoint, ckpt.state_dict, dict(ckpt.meta, label_words=WORDS), half=False)
    text = NullOcrEngine([TextBox("Ekologisk mellanmjölk", 0.95, ((5, 5), (90, 5), (90, 25), (5, 25)))])
    monkeypatch.setattr(engine_mod, "open_engine", lambda name="auto": text)
    window = make_window()
    watch = window.context.assistant.labels.watch
    assert watch is not None and watch.words.words == WORDS
    watch.period = 0.01
    qtbot.waitUntil(lambda: watch.frames_read >= 1, timeout=20000)
    assert text.calls >= 1
    done = []
    worker = threading.Thread(target=lambda: done.append(window.context.reload_model(plain)))
    worker.start()
    worker.join(60)
    assert done and window.context.assistant.labels.watch is None
    assert watch._thread is None   # the old model's watch was stopped
