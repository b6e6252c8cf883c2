"""Trial item 4: F2 (repeat) and F1 (spoken help) leave a trace like every other answer: in the
window's history and the transcript, and on screen when the voice is off."""
from __future__ import annotations


def _ids(path):
    return [line.split("\t")[2] for line in path.read_text(encoding="utf-8").splitlines()]


def test_repeat_and_help_are_shown_and_recorded_with_the_voice_off(make_window, qtbot, tmp_path):
    from assistant.live.speech import SilentEngine
    said = tmp_path / "said.tsv"
    window = make_window(engine=SilentEngine(), transcript=str(said))
    context = window.context
    qtbot.waitUntil(lambda: context.speaker.last is not None, timeout=20000)
    last = context.speaker.last.text
    window.status_label.setText("")
    lines = window.history.count()

    window.actions_by_id["repeat"].trigger()
    assert window.status_label.text() == last          # the voice is off: the screen answers
    assert window.history.count() == lines + 1 and window.history.lines()[-1].endswith(last)
    assert ("repeated", last) == context.assistant.history[-1][1:]

    window.actions_by_id["help"].trigger()
    qtbot.waitUntil(lambda: window._dialog is not None and window._dialog.isVisible())
    assert window.history.lines()[-1].endswith("Commands and keys")
    ident, words = context.assistant.history[-1][1:]
    assert ident == "help_title" and "F5" in words
    window._dialog.reject()
    context.stop()
    assert {"repeated", "help_title"} <= set(_ids(said))
