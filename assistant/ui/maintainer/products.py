"""Maintainer mode's products: the list with each product's names and photo count, and the
buttons that edit it (add, rename, merge, remove) or give it photos and barcodes (the photo
desk's actions, wired here because they act on the selected product)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from assistant.catalog import phrase, plain
from assistant.maintainer.session import MaintainerSession
from assistant.ui import accessibility as a11y
from assistant.ui.maintainer.dialogs import ChoiceDialog, NamesDialog


@dataclass
class Outlets:
    """What a view of maintainer mode may do to the window around it, named once."""

    tell: Callable[..., None]          # show and speak one outcome: tell(text, urgent=False)
    guard: Callable[[Callable], None]  # run an action; its error is shown and spoken
    open_child: Callable               # open a sub-dialog; the keyboard comes back after
    question: Callable                 # a Yes/No box whose default is No
    button: Callable                   # a labelled button: button(key, slot, layout)


class ProductsView(QWidget):
    """The library's products; actions is a dict of the photo desk's slots by button key."""

    def __init__(self, session: MaintainerSession, out: Outlets, photo_actions: dict,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.out, self.language = session, out, session.language
        lang = self.language
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setObjectName("products")
        label = QLabel(phrase("products", lang))
        label.setBuddy(self.list)
        a11y.name(self.list, plain(phrase("products", lang)), phrase("products_desc", lang))
        self.list.currentRowChanged.connect(lambda _row: self.update_buttons())
        root.addWidget(label)
        root.addWidget(self.list)
        row = QHBoxLayout()
        self.buttons = {"add": out.button("add", self.add_product, row)}
        for key in ("import", "capture", "scan"):
            self.buttons[key] = out.button(key, photo_actions[key], row)
        for key, slot in (("rename", self.rename_product), ("merge", self.merge_product),
                          ("remove", self.remove_product)):
            self.buttons[key] = out.button(key, slot, row)
        root.addLayout(row)
        self.capturing = False
        #: called with a removed product's id (its barcodes go with it); set by the dialog
        self.on_removed: Callable[[str], None] = lambda pid: None

    @property
    def library(self):
        return self.session.library

    @property
    def add_button(self):
        return self.buttons["add"]

    @property
    def import_button(self):
        return self.buttons["import"]

    def selected(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def need_selection(self) -> str | None:
        pid = self.selected()
        if pid is None:
            self.out.tell(phrase("select_first", self.language))
        return pid

    def refresh(self, select: str | None = None) -> None:
        select = select or self.selected()
        self.list.clear()
        for p in self.library.products():
            item = QListWidgetItem(phrase("row", self.language, en=p.names["en"], es=p.names["es"], n=p.photos))
            item.setData(Qt.ItemDataRole.UserRole, p.id)
            self.list.addItem(item)
            if p.id == select:
                self.list.setCurrentItem(item)
        if self.list.currentRow() < 0 and self.list.count():
            self.list.setCurrentRow(0)
        self.update_buttons()

    def update_buttons(self) -> None:
        has = self.selected() is not None
        for key in ("import", "capture", "scan", "rename", "remove"):
            self.buttons[key].setEnabled(has and not self.capturing)
        self.buttons["merge"].setEnabled(has and self.list.count() > 1 and not self.capturing)
        self.buttons["add"].setEnabled(not self.capturing)

    # --- the edits ------------------------------------------------------------------------
    def add_product(self) -> None:
        dialog = NamesDialog(self.window(), self.language, on_problem=self.out.tell)
        dialog.accepted.connect(lambda: self.out.guard(lambda: self._added(*dialog.names())))
        self.out.open_child(dialog)

    def _added(self, english: str, spanish: str) -> None:
        product = self.library.add(english, spanish)
        self.refresh(select=product.id)
        self.out.tell(phrase("added", self.language, name=product.name(self.language)))

    def rename_product(self) -> None:
        pid = self.need_selection()
        if pid is None:
            return
        p = self.library.get(pid)
        dialog = NamesDialog(self.window(), self.language, p.names["en"], p.names["es"],
                             on_problem=self.out.tell)

        def done() -> None:
            renamed = self.library.rename(pid, *dialog.names())
            self.refresh(select=pid)
            self.out.tell(phrase("renamed", self.language, name=renamed.name(self.language)))

        dialog.accepted.connect(lambda: self.out.guard(done))
        self.out.open_child(dialog)

    def merge_product(self) -> None:
        pid = self.need_selection()
        if pid is None:
            return
        others = [(p.name(self.language), p.id) for p in self.library.products() if p.id != pid]
        if not others:
            self.out.tell(phrase("no_other", self.language))
            return
        dialog = ChoiceDialog(self.window(), self.language, phrase("merge_title", self.language), others,
                              phrase("merge_list", self.language), phrase("merge_list_desc", self.language))

        def done() -> None:
            merged = self.library.merge([pid], into=dialog.choice)
            self.refresh(select=merged.id)
            self.out.tell(phrase("merged", self.language, name=merged.name(self.language), n=merged.photos))

        dialog.accepted.connect(lambda: self.out.guard(done))
        self.out.open_child(dialog)

    def remove_product(self) -> None:
        pid = self.need_selection()
        if pid is None:
            return
        p = self.library.get(pid)
        question = phrase("confirm_remove", self.language, name=p.name(self.language), n=p.photos)
        box = self.out.question(question)
        box.accepted.connect(lambda: self.out.guard(lambda: self._removed(p)))
        self.out.tell(question)
        self.out.open_child(box)

    def _removed(self, p) -> None:
        self.library.remove(p.id)
        self.on_removed(p.id)
        self.refresh()
        self.out.tell(phrase("removed", self.language, name=p.name(self.language)))
