"""The thick focus outline must not cut the words of the control it marks: under Xvfb the
focused 'Identify (F5)' button showed 'dentify (F5' (its border grew by 2 px a side, its size
did not). Each button of the window, in both languages, at the window's smallest size, has
room for its whole text when it has the focus (at 200 % scale, QT_SCALE_FACTOR=2 doubles every
pixel alike: the screenshots of tests/ui/test_screenshots.py show it)."""
from __future__ import annotations

import pytest

from assistant.catalog import plain


def room_when_focused(button) -> int:
    """The width the style gives the button's text while it has the keyboard focus (the style
    sheet's :focus rule is chosen from the option's state)."""
    from PySide6.QtWidgets import QStyle, QStyleOptionButton
    opt = QStyleOptionButton()
    button.initStyleOption(opt)
    opt.state |= QStyle.StateFlag.State_HasFocus
    return button.style().subElementRect(QStyle.SubElement.SE_PushButtonContents, opt, button).width()


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_focused_button_has_room_for_its_whole_text(make_window, qtbot, language):
    from PySide6.QtWidgets import QPushButton
    window = make_window(language=language)
    window.context.stop()
    window.resize(window.minimumSizeHint())   # as small as it goes: each button at its size
    qtbot.waitUntil(lambda: window.size() == window.minimumSizeHint())
    buttons = [b for b in window.findChildren(QPushButton) if b.isVisible() and b.text()]
    assert len(buttons) >= 6
    cut = [(b.text(), room_when_focused(b), b.fontMetrics().horizontalAdvance(plain(b.text())))
           for b in buttons
           if room_when_focused(b) < b.fontMetrics().horizontalAdvance(plain(b.text()))]
    assert not cut, cut
