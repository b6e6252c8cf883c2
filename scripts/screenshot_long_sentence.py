"""The window with the catalogue's longest spoken sentence in the product box and the status line,
for the README (trial item 2), on a virtual screen:

    xvfb-run -a .venv/bin/python scripts/screenshot_long_sentence.py es assets/screenshots/long-sentence-es.png
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(language: str, out: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from PySide6.QtWidgets import QApplication

    from assistant.live.speech import SilentEngine
    from assistant.ui.app import build
    from assistant.ui.main_window import MainWindow
    from tests.ui.conftest import app_args
    from tests.ui.test_long_sentences import longest

    app = QApplication([])
    args = app_args(source=str(ROOT / "assets" / "demo"), hold=30.0, language=language,
                    engine="silent")
    context, _ = build(args, engine=SilentEngine())
    window = MainWindow(context)
    window.resize(900, 700)
    window.show()
    words = longest(language)
    for _ in range(20):
        app.processEvents()
    window.product.show_product(words)
    window.status_label.setText(words)
    for _ in range(20):
        app.processEvents()
    window.grab().save(str(out))
    context.stop()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
