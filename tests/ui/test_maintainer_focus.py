"""Trial item 10: after a dialog of maintainer mode closes (the name dialog, the folder picker,
a question), maintainer mode takes the keyboard back, with the focus on the products list, so
its shortcuts work at once without a click."""
from __future__ import annotations

import pytest

from tests.ui import maintainer_helpers as maintainer
from tests.ui.helpers import press

Context = maintainer.Context

pytest.importorskip("pytestqt")


def test_after_the_name_dialog_the_keys_reach_maintainer_mode(qtbot, open_dialog, base):
    from assistant.ui.maintainer.dialogs import NamesDialog
    ctx = Context(base)
    dialog = open_dialog(ctx)
    dialog.add_button.setFocus()          # where the focus was when the dialog opened
    maintainer.add_product_by_keyboard(qtbot, dialog, "Yellow oil", "Aceite amarillo")
    qtbot.waitUntil(dialog.isActiveWindow)
    assert dialog.focusWidget() is dialog.products
    assert dialog.products.currentItem().text().startswith("Yellow oil")
    press(qtbot, dialog, "Alt+A")         # Rename, straight away: the keys reach this window
    names = maintainer.modal(qtbot, NamesDialog)
    press(qtbot, names, "Escape")
    qtbot.waitUntil(lambda: not names.isVisible())
    qtbot.waitUntil(lambda: dialog.focusWidget() is dialog.products)


def test_after_the_folder_picker_is_cancelled_the_list_has_the_focus(qtbot, open_dialog, base):
    from PySide6.QtWidgets import QFileDialog
    ctx = Context(base)
    dialog = open_dialog(ctx)
    dialog.library.add("Jam", "Mermelada")
    dialog.refresh()
    dialog.import_button.setFocus()
    press(qtbot, dialog, "Alt+S")         # Import photos
    picker = maintainer.modal(qtbot, QFileDialog)
    picker.reject()
    qtbot.waitUntil(lambda: dialog.focusWidget() is dialog.products)
    qtbot.waitUntil(dialog.isActiveWindow)
