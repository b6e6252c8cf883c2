"""Maintainer mode's pack words: see and change the words read on each product's pack (the
label words a retrain learns with "Learn the words on each pack"), of the model just retrained,
else of the model in use. The change runs `models words --set` in a child process (the app's
process never loads torch); the outcome is shown and spoken."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QComboBox, QDialog, QLabel, QLineEdit, QVBoxLayout, QWidget

from assistant.catalog import phrase, plain
from assistant.catalog.languages import localized
from assistant.inference.checkpoint import read_metadata
from assistant.maintainer.session import MaintainerSession
from assistant.store import models
from assistant.ui import accessibility as a11y
from assistant.ui.dialogs import ok_cancel
from assistant.ui.maintainer.products import Outlets
from assistant.ui.tasks import BackgroundTask


class WordsDialog(QDialog):
    """A product (a list, each with its words) and its words in one line; .choice and .words
    once accepted."""

    def __init__(self, parent: QWidget | None, language: str, names: dict[str, str],
                 words: dict[str, list[str]]) -> None:
        super().__init__(parent)
        self.setObjectName("words_dialog")
        self.setWindowTitle(plain(phrase("words_edit", language)))
        self.language, self.names, self.known = language, names, words
        self.products = QComboBox()
        self.products.setObjectName("words_products")
        for pid, name in names.items():
            shown = ", ".join(words.get(pid, [])) or phrase("words_empty", language)
            self.products.addItem(f"{name}: {shown}", pid)
        a11y.name(self.products, phrase("words_pick", language), phrase("words_edit_desc", language))
        self.edit = QLineEdit()
        self.edit.setObjectName("words_field")
        self.label = QLabel()
        self.label.setBuddy(self.edit)
        self.products.currentIndexChanged.connect(lambda _i: self._show())
        layout = QVBoxLayout(self)
        layout.addWidget(self.products)
        layout.addWidget(self.label)
        layout.addWidget(self.edit)
        layout.addWidget(ok_cancel(self, language, "ok_desc"))
        first = next((i for i, pid in enumerate(names) if words.get(pid)), 0)
        self.products.setCurrentIndex(first)  # the first product that has words
        self._show()
        self.products.setFocus()

    def _show(self) -> None:
        pid = self.choice
        name = self.names.get(pid, pid or "")
        self.label.setText(phrase("words_field", self.language, name=name))
        a11y.name(self.edit, plain(phrase("words_field", self.language, name=name)),
                  phrase("words_field_desc", self.language))
        self.edit.setText(" ".join(self.known.get(pid, [])))

    @property
    def choice(self) -> str | None:
        return self.products.currentData()

    @property
    def words(self) -> list[str]:
        return self.edit.text().replace(",", " ").split()


class WordsEditor:
    """model(): the model whose words are edited (the new one when a retrain just ended)."""

    def __init__(self, session: MaintainerSession, out: Outlets, parent: QWidget,
                 model: Callable[[], Path]) -> None:
        self.session, self.out, self.parent, self.model = session, out, parent, model
        self.language = session.language
        self.task: BackgroundTask | None = None

    def open(self) -> None:
        lang, path = self.language, self.model()
        if path.resolve().parent == models.bundled_dir().resolve():
            self.out.tell(phrase("words_bundled", lang))
            return
        words = self.session.label_words(path)
        if not any(words.values()):
            self.out.tell(phrase("words_none", lang))
            return
        names = self.names(path)
        dialog = WordsDialog(self.parent, lang, names, words)
        dialog.accepted.connect(lambda: self._save(path, dialog.choice, names, dialog.words))
        self.out.open_child(dialog)

    def names(self, path: Path) -> dict[str, str]:
        return {c["id"]: localized(c["names"], self.language) or c["id"]
                for c in read_metadata(path)["classes"]}

    def lines(self, path: Path) -> list[str]:
        """The report's lines for a model's pack words: a blank line, then "name: words" for
        each product that has some ([] when none has)."""
        words = {pid: ws for pid, ws in self.session.label_words(path).items() if ws}
        if not words:
            return []
        names = self.names(path)
        return [""] + [f"{names.get(pid, pid)}: {', '.join(ws)}" for pid, ws in words.items()]

    def _save(self, path: Path, pid: str | None, names: dict[str, str], new: list[str]) -> None:
        if pid is None:
            return
        lang, name = self.language, names.get(pid, pid)
        self.task = BackgroundTask(lambda: self.session.set_label_words(path, pid, new),
                                   name="label-words", language=lang)
        self.task.finished.connect(lambda _r: self.out.tell(phrase(
            "words_saved", lang, name=name,
            words=", ".join(self.session.label_words(path).get(pid, [])) or phrase("words_empty", lang))))
        self.task.failed.connect(lambda message: self.out.tell(message, urgent=True))
        self.task.start()
