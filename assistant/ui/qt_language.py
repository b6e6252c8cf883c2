"""Qt's own words (its dialogs' buttons and labels) in the user's language; the window's own
words are the catalogue's (assistant.catalog.phrase)."""
from __future__ import annotations

from assistant.catalog import phrase

_qt_translator = None  # the one installed translator of Qt's own words (file dialogs, Yes/No)


def use_qt_language(language: str) -> bool:
    """Qt's own dialogs (the file chooser's "Cancel", "Look in:") in language, from the
    translations shipped with Qt; English needs none. Returns whether they are in language."""
    global _qt_translator
    from PySide6.QtCore import QCoreApplication, QLibraryInfo, QTranslator
    app = QCoreApplication.instance()
    if app is None:
        return False
    if _qt_translator is not None:
        app.removeTranslator(_qt_translator)
        _qt_translator = None
    if language == "en":
        return True
    translator = QTranslator(app)
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if not translator.load(f"qtbase_{language}", folder):
        return False
    app.installTranslator(translator)
    _qt_translator = translator
    return True


def file_chooser(parent, title: str, language: str, folders: bool = True,
                 name_filter: str | None = None):
    """Qt's own file chooser (the same keys on every desktop), wholly in language: Qt's words
    from its translation (use_qt_language), the two labels that translation lacks from ours."""
    from PySide6.QtWidgets import QFileDialog, QLabel
    dialog = QFileDialog(parent, title)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    if folders:
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    else:
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    if name_filter:
        dialog.setNameFilter(name_filter)
    for name, message_id in (("lookInLabel", "file_look_in"), ("fileTypeLabel", "file_types")):
        label = dialog.findChild(QLabel, name)
        if label is not None:
            label.setText(phrase(message_id, language))
    return dialog
