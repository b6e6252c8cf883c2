"""Maintainer mode's Assign barcode, driven by keyboard: the code in the camera's view goes to
the selected product, a code of another product is refused, nothing in view is said."""
from __future__ import annotations

import pytest

from tests.ui import maintainer_helpers as maintainer
from tests.ui.helpers import press

Context = maintainer.Context

pytest.importorskip("pytestqt")


def test_scan_barcode_gives_the_selected_product_its_codes(qtbot, open_dialog, base, tmp_path):
    """Scan barcode: the code in the camera's view goes to the selected product (several codes
    per product); a code of another product is refused, in the interface's words."""
    from assistant.bench.barcode_pictures import code_image, paste, shelf_photo
    ctx = Context(base)
    dialog = open_dialog(ctx)
    dialog.library.add("Tea", "Té")
    dialog.library.add("Rice", "Arroz")
    dialog.refresh(select="tea")
    plain = shelf_photo()
    ctx.frames = [plain, plain, paste(plain, code_image("96385074", "EAN-8"), width=0.6)]
    press(qtbot, dialog, "Alt+G")  # a mnemonic clicks a moment later (Qt's animated click)
    qtbot.waitUntil(lambda: ctx.speaker.heard("Barcode 9 6 3 8 5 0 7 4 is now Tea: 1 code for it"),
                    timeout=10000)
    assert ctx.speaker.heard("Hold the barcode of Tea in front of the camera")
    ctx.frames = [paste(plain, code_image("7310865004703"), width=0.6)]
    dialog.scan_barcode()
    qtbot.waitUntil(lambda: dialog.scan_timer is None, timeout=10000)
    assert dialog.barcode_book().codes_of("tea") == ["7310865004703", "96385074"]
    dialog.refresh(select="rice")
    ctx.frames = [paste(plain, code_image("96385074", "EAN-8"), width=0.6)]
    dialog.scan_barcode()
    qtbot.waitUntil(lambda: dialog.scan_timer is None, timeout=10000)
    assert ctx.speaker.heard("already belongs to tea")
    assert dialog.barcode_book().codes_of("rice") == []
    ctx.frames = []  # nothing in view: said after a while
    dialog.scan_seconds = 0.5
    dialog.scan_barcode()
    qtbot.waitUntil(lambda: dialog.scan_timer is None, timeout=10000)
    assert ctx.speaker.heard("No barcode found")
    # the list is the user's file: the app names the code from now on
    from assistant.store.barcodes import BarcodeBook
    assert BarcodeBook().get("96385074").product == "tea"
