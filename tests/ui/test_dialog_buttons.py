"""The OK and Cancel buttons every dialog uses (assistant.ui.dialogs.ok_cancel): named for a
screen reader in the interface's language, and doing what they say."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")


@pytest.mark.parametrize("language", ["en", "es"])
def test_ok_and_cancel_are_named_in_the_language_and_do_what_they_say(qtbot, language):
    from PySide6.QtWidgets import QDialog, QDialogButtonBox

    from assistant.ui.dialogs import ok_cancel
    ended = []
    for which, expected in ((QDialogButtonBox.StandardButton.Ok, QDialog.DialogCode.Accepted),
                            (QDialogButtonBox.StandardButton.Cancel, QDialog.DialogCode.Rejected)):
        dialog = QDialog()
        qtbot.addWidget(dialog)
        box = ok_cancel(dialog, language, "ok_desc")
        ok, cancel = box.button(QDialogButtonBox.StandardButton.Ok), box.button(QDialogButtonBox.StandardButton.Cancel)
        assert (ok.accessibleName(), ok.accessibleDescription()) == \
            {"en": ("OK", "Confirm"), "es": ("Aceptar", "Confirmar")}[language]
        assert (cancel.accessibleName(), cancel.accessibleDescription()) == \
            {"en": ("Cancel", "Close without changing anything"),
             "es": ("Cancelar", "Cerrar sin cambiar nada")}[language]
        dialog.finished.connect(ended.append)
        dialog.open()
        box.button(which).click()
        assert ended[-1] == expected.value
