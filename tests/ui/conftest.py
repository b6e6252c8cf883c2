"""Window fixtures: the real app (app.build) on a photo folder, with a recording voice."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from tests.ui.helpers import app_args  # noqa: E402
from tests.ui.maintainer_helpers import Context  # noqa: E402


@pytest.fixture
def make_window(qtbot, ready_checkpoint, photo_dir):
    """make_window(engine=..., **flags) -> the shown MainWindow of a started app.

    Photos are held 3 s each (24 photos: longer than any test), continuous mode as saved."""
    from assistant.live.speech import RecordingEngine
    from assistant.ui.app import build
    from assistant.ui.main_window import MainWindow

    made = []

    def make(engine=None, source=None, **flags):
        engine = engine if engine is not None else RecordingEngine()
        args = app_args(source=str(source or photo_dir), hold=flags.pop("hold", 3.0),
                        model=str(ready_checkpoint), **flags)
        context, notes = build(args, engine=engine)
        window = MainWindow(context)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        # keys go to the active window only, as on a desktop
        qtbot.waitUntil(window.isActiveWindow, timeout=5000)
        for message_id, fields in notes:
            window.say(message_id, **fields)
        context.start()
        made.append(context)
        window.engine = engine  # for the test to read
        return window

    yield make
    for context in made:
        context.stop()


@pytest.fixture(autouse=True)
def qt_words_in_english():
    """Qt's own translation is process-wide (a Spanish window installs it): each test ends
    with Qt's words in English again, as a fresh process has them."""
    yield
    from assistant.ui.qt_language import use_qt_language
    use_qt_language("en")


@pytest.fixture
def base(tiny_checkpoint) -> Path:
    """The tiny model, activated, so that rollback has somewhere to go."""
    from assistant.store import models
    return models.activate(tiny_checkpoint)


@pytest.fixture
def open_dialog(qtbot):
    from assistant.ui.maintainer import MaintainerDialog

    def make(ctx: Context) -> MaintainerDialog:
        dialog = MaintainerDialog(None, ctx)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        dialog.activateWindow()
        qtbot.waitUntil(dialog.isActiveWindow, timeout=5000)
        return dialog

    return make
