"""The read key (F7) and the date key (F8) in the window, driven by keyboard, with the null text
engine standing in for RapidOCR; and `app --read` writing what was read per photo."""
from __future__ import annotations

import threading

import pytest

from tests.ui.helpers import press
from tests.ui.test_keyboard import Voice, focused, key_of

pytestmark = pytest.mark.timeout(120)

ARLA = [("Arla", 30, 30, 40, 20), ("Bäst före 01.02.2020", 20, 70, 60, 8)]


def reader_of(lines, gate=None, error=None):
    from assistant.reading import LabelReader, NullOcrEngine, TextBox
    boxes = [TextBox(t, 0.95, ((x, y), (x + w, y), (x + w, y + h), (x, y + h)))
             for t, x, y, w, h in lines]
    return LabelReader(NullOcrEngine(boxes, error=error, gate=gate))


@pytest.fixture
def quiet_window(make_window, qtbot):
    """A window that is ready (its "Ready." said) and quiet: continuous mode off, so nothing
    but the keys pressed speaks, and F2 repeats what the test last heard."""
    from assistant.live.speech import RecordingEngine
    window = make_window(engine=RecordingEngine())
    qtbot.waitUntil(lambda: window.context.latest_frame() is not None, timeout=20000)
    qtbot.waitUntil(lambda: window.context.assistant.ready_seconds is not None, timeout=60000)
    ready = catalog_phrase("ready")
    qtbot.waitUntil(lambda: ready in window.engine.texts, timeout=20000)
    window.settings.continuous = False
    window.context.assistant.set_continuous(False)
    return window


def catalog_phrase(message_id: str) -> str:
    from assistant import catalog
    return catalog.phrase(message_id, "en")


def test_read_key_speaks_the_label_at_next_priority_and_f2_repeats_it(quiet_window, qtbot):
    from assistant.live.speech import Priority
    window = quiet_window
    window.context.reader = reader_of(ARLA)
    voice = Voice(qtbot, window.engine)
    expected = "Best before 1 February 2020. That date has passed. Arla. Bäst före 01.02.2020."
    text, lang, priority, *_ = voice.said_after_key(window, key_of(window, "read"), expected)
    assert (lang, priority) == ("en", Priority.NEXT)
    assert "Reading." in window.engine.texts[voice.mark:]
    # the history hears of it by a queued signal, which may come after the voice under load
    qtbot.waitUntil(lambda: any(line.endswith(expected) for line in window.history.lines()),
                    timeout=20000)
    assert ("read", expected) in [entry[1:] for entry in window.context.assistant.history]
    # F2 says the whole reading again
    voice.said_after_key(window, key_of(window, "repeat"), expected)
    # the date key: only the date
    only_date = "Best before 1 February 2020. That date has passed."
    voice.said_after_key(window, key_of(window, "date"), only_date)


def test_nothing_readable_is_said_with_a_hint_in_spanish(quiet_window, qtbot):
    window = quiet_window
    window.context.reader = reader_of([("QWRTZP", 10, 10, 50, 20)])  # noise only
    press(qtbot, window, key_of(window, "language"))
    qtbot.waitUntil(lambda: window.language == "es")
    voice = Voice(qtbot, window.engine)
    voice.said_after_key(window, key_of(window, "read"), "No encuentro texto. Gire el envase despacio.")
    voice.said_after_key(window, key_of(window, "date"),
                         "No encuentro ninguna fecha. Gire el envase despacio.")


def test_escape_cancels_a_reading_in_progress(quiet_window, qtbot):
    window = quiet_window
    gate = threading.Event()
    window.context.reader = reader_of(ARLA, gate=gate)
    engine = window.engine
    voice = Voice(qtbot, engine)
    voice.said_after_key(window, key_of(window, "read"), "Reading.")
    qtbot.waitUntil(lambda: window.context.reader.engine.calls == 1)  # the thread is reading
    assert window.reading.busy()
    press(qtbot, focused(window), key_of(window, "stop"))
    gate.set()
    qtbot.waitUntil(lambda: not window.reading.busy())
    assert window.context.speaker.wait_idle(5.0)
    assert not any("Arla" in t for t in engine.texts[voice.mark:])
    # recognition went on meanwhile, and a new reading is said again
    voice.said_after_key(window, key_of(window, "read"), lambda t: t.endswith("Arla. Bäst före 01.02.2020."))


def test_an_engine_that_cannot_load_is_said_and_the_rest_works(quiet_window, qtbot):
    from assistant import catalog
    from assistant.reading import OcrUnavailable
    window = quiet_window
    window.context.reader = reader_of([], error=OcrUnavailable("no model files"))
    voice = Voice(qtbot, window.engine)
    voice.said_after_key(window, key_of(window, "read"), catalog.phrase(
        "read_unavailable", "en", detail="no model files"))
    assert window.context.reader is None and window.context.reader_problem == "no model files"
    # asked again: said again at once, without a thread
    voice.said_after_key(window, key_of(window, "date"), lambda t: "no model files" in t)
    # identify still answers
    clf = window.context.classifier
    names = {clf.name(c, "en") for c in clf.class_ids}
    voice.said_after_key(window, key_of(window, "identify"),
                         lambda t: any(n in t for n in names) or "recogni" in t or "Too" in t,
                         timeout=10000)


def run_app_read(qtbot, tiny_checkpoint, tmp_path, monkeypatch, engine) -> list[list[str]]:
    """`app --source DIR --once --transcript F --read` on two photos with this text engine;
    the transcript's rows."""
    from PIL import Image

    from assistant.live.speech import RecordingEngine
    from assistant.reading import reader as reader_mod
    from assistant.ui.app import build
    from assistant.ui.main_window import MainWindow
    from tests.helpers import make_photo
    from tests.ui.helpers import app_args

    folder = tmp_path / "photos"
    folder.mkdir()
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30)]):
        Image.fromarray(make_photo(colour, seed=i)).save(folder / f"p{i}.jpg")
    monkeypatch.setattr(reader_mod, "open_engine", lambda name="auto": engine)
    transcript = tmp_path / "said.tsv"
    args = app_args(source=str(folder), hold=0.5, once=True, transcript=str(transcript),
                    model=str(tiny_checkpoint), read=True)
    context, _notes = build(args, engine=RecordingEngine())
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.reading.auto = args.read
    window.show()
    context.start()
    qtbot.waitUntil(lambda: context.assistant.source_ended and not window.reading.busy(),
                    timeout=30000)
    context.stop()
    return [line.split("\t") for line in transcript.read_text(encoding="utf-8").splitlines()]


def test_app_read_writes_what_was_read_per_photo(qtbot, ready_checkpoint, tmp_path, monkeypatch):
    """One "read" row per photo, named."""
    rows = run_app_read(qtbot, ready_checkpoint, tmp_path, monkeypatch, reader_of(ARLA).engine)
    read = [(item, words) for _, item, ident, words in rows if ident == "read"]
    assert [item for item, _ in read] == ["p0.jpg", "p1.jpg"]
    assert all(words.endswith("Arla. Bäst före 01.02.2020.") for _, words in read)


def test_app_read_without_an_engine_says_so_once(qtbot, ready_checkpoint, tmp_path, monkeypatch):
    from assistant.reading import OcrUnavailable
    engine = reader_of([], error=OcrUnavailable("no model files")).engine
    rows = run_app_read(qtbot, ready_checkpoint, tmp_path, monkeypatch, engine)
    idents = [ident for _, _, ident, _ in rows]
    assert idents.count("read_unavailable") == 1 and "read" not in idents
    assert any(ident not in ("ready", "read_unavailable", "photos_ended") for ident in idents), \
        "recognition named nothing"
