"""Maintainer mode as Ctrl+Shift+M opens it over the window, saved as a picture (for the README).

    GROCERY_ASSISTANT_HOME=$(mktemp -d) xvfb-run -a python tests/ui/maintainer_picture.py LANG OUT.png

(run for each language by tests/ui/test_screenshots.py, slow)

Run in an empty home: two products are added to its library so that the list is not empty."""
from __future__ import annotations

import argparse
import sys


def main() -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from assistant.store.library import Library
    from assistant.ui.app import build
    from assistant.ui.main_window import MainWindow

    language, out = sys.argv[1], sys.argv[2]
    library = Library()
    for en, es in (("Alpro vanilla soy yoghurt", "Yogur de soja Alpro vainilla"),
                   ("Arla whole milk", "Leche entera Arla")):
        if not any(p.names.get("en") == en for p in library.products()):
            library.add(en, es)
    app = QApplication(sys.argv[:1])
    args = argparse.Namespace(source="assets/demo", hold=2.0, once=False, transcript=None,
                              model=None, language=language, engine="silent", read=False,
                              backend="auto")
    context, _ = build(args)
    window = MainWindow(context)
    window.show()
    context.start()
    saved = []

    def grab() -> None:
        dialog = window._dialog
        dialog.resize(1040, 760)
        QTimer.singleShot(1500, lambda: (saved.append(dialog.grab().save(out)), app.quit()))

    # the window settles (first picture said), then maintainer mode opens as the key opens it
    QTimer.singleShot(3000, lambda: (window.open_maintainer(), QTimer.singleShot(6000, grab)))
    app.exec()
    context.stop()
    print(out if saved and saved[0] else f"could not save {out}")
    return 0 if saved and saved[0] else 1


if __name__ == "__main__":
    sys.exit(main())
