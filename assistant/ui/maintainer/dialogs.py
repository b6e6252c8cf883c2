"""Maintainer mode's small dialogs: a product's two names, and picking a product from a list.

Each opens with open() (window-modal, no nested event loop) and reports through accepted."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QVBoxLayout,
    QWidget,
)

from assistant.catalog import phrase, plain
from assistant.ui import accessibility as a11y
from assistant.ui.dialogs import ok_cancel


class NamesDialog(QDialog):
    """English and Spanish names; refuses to close on OK while one is empty (and says why)."""

    def __init__(self, parent: QWidget | None, language: str, english: str = "", spanish: str = "",
                 on_problem=None) -> None:
        super().__init__(parent)
        self.setObjectName("names_dialog")
        self.setWindowTitle(phrase("name_title", language))
        self.language, self.on_problem = language, on_problem
        form = QFormLayout()
        self.english = QLineEdit(english)
        self.english.setObjectName("english")
        self.spanish = QLineEdit(spanish)
        self.spanish.setObjectName("spanish")
        for key, edit in (("english", self.english), ("spanish", self.spanish)):
            label = QLabel(phrase(key, language))
            label.setBuddy(edit)
            a11y.name(edit, plain(phrase(key, language)), phrase(f"{key}_desc", language))
            form.addRow(label, edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self, language, "ok_desc"))
        self.english.setFocus()

    def names(self) -> tuple[str, str]:
        return self.english.text().strip(), self.spanish.text().strip()

    def accept(self) -> None:
        english, spanish = self.names()
        if not english or not spanish:
            (self.spanish if english else self.english).setFocus()
            if self.on_problem is not None:
                self.on_problem(phrase("need_names", self.language))
            return
        super().accept()


class ChoiceDialog(QDialog):
    """Pick one entry of a list; .choice is its data once accepted."""

    def __init__(self, parent: QWidget | None, language: str, title: str,
                 entries: list[tuple[str, str]], list_name: str, list_desc: str) -> None:
        super().__init__(parent)
        self.setObjectName("choice_dialog")
        self.setWindowTitle(title)
        self.entries = entries
        self.list = QListWidget()
        self.list.setObjectName("choice_list")
        label = QLabel(list_name)
        label.setBuddy(self.list)
        a11y.name(self.list, list_name, list_desc)
        self.list.addItems([text for text, _ in entries])
        self.list.setCurrentRow(0)
        self.list.itemActivated.connect(lambda _item: self.accept())
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.list)
        layout.addWidget(ok_cancel(self, language, "ok_desc"))
        self.list.setFocus()

    @property
    def choice(self) -> str | None:
        row = self.list.currentRow()
        return self.entries[row][1] if 0 <= row < len(self.entries) else None
