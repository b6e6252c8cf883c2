"""Screen-reader plumbing: names born with controls, announcements, and a focus outline.

A control is created together with its label (NVDA's guiHelper idea), so none is ever
unnamed; results are also pushed to Orca/NVDA as accessibility announcements (Qt >= 6.8),
which lets the shopper mute the assistant's own voice and rely on their screen reader.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QFormLayout,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QWidget,
)

from assistant.catalog import plain

log = logging.getLogger(__name__)

try:  # Qt 6.8+; older Qt: the window still shows and speaks everything
    from PySide6.QtGui import QAccessibleAnnouncementEvent
except ImportError:  # pragma: no cover - depends on the installed Qt
    QAccessibleAnnouncementEvent = None

#: A thick outline on whatever has keyboard focus: the platform default is a thin dotted
#: line that low-vision users cannot find, especially at 200 % scale. The thick border takes
#: the place of the margin, so that focus does not shrink a control's room for its text (a
#: button sized to its words lost their ends when it took the focus).
FOCUS_STYLE = """
QPushButton, QToolButton, QComboBox, QSpinBox, QDoubleSpinBox, QCheckBox, QListWidget,
QKeySequenceEdit, QLineEdit, QSlider, QTableWidget {
    border: 2px solid palette(mid); margin: 2px; border-radius: 4px; padding: 0.3em 0.6em;
}
QPushButton:focus, QToolButton:focus, QComboBox:focus, QSpinBox:focus, QDoubleSpinBox:focus,
QCheckBox:focus, QListWidget:focus, QKeySequenceEdit:focus, QLineEdit:focus,
QSlider:focus, QTableWidget:focus {
    border: 4px solid #1565c0; margin: 0px; background-color: #fff59d; color: #000000;
}
QPushButton { min-height: 2em; }
QPushButton:checked { background-color: #2e7d32; color: #ffffff; }
QListWidget::item:selected { background-color: #1565c0; color: #ffffff; }
"""


def name(widget: QWidget, accessible_name: str, description: str) -> QWidget:
    """Give a widget its accessible name and description (and a tooltip for sighted users)."""
    widget.setAccessibleName(accessible_name)
    widget.setAccessibleDescription(description)
    widget.setToolTip(description)
    # a spin box, key editor or editable combo takes focus in its inner line edit: name that too, so the
    # screen reader says "Speed" there, not "edit"
    if isinstance(widget, QAbstractSpinBox | QComboBox | QKeySequenceEdit):
        for inner in widget.findChildren(QLineEdit):
            inner.setAccessibleName(accessible_name)
            inner.setAccessibleDescription(description)
    return widget


def labelled_row(form: QFormLayout, text: str, widget: QWidget, description: str) -> QLabel:
    """Add `widget` to `form` together with its visible label, buddy and accessible texts."""
    label = QLabel(text)
    label.setBuddy(widget)
    name(widget, plain(text), description)
    form.addRow(label, widget)
    return label


def focusable_widgets(root: QWidget) -> list[QWidget]:
    """Every shown widget under root (root included) that keyboard focus can reach."""
    found = [root] if _focusable(root) else []
    found += [w for w in root.findChildren(QWidget) if _focusable(w)]
    return found


def _focusable(widget: QWidget) -> bool:
    # hidden widgets (a closed combo popup, another tab's page) cannot take focus now
    if not widget.isVisible():
        return False
    return bool(widget.focusPolicy() & Qt.FocusPolicy.TabFocus) and widget.isEnabled()


def announce(widget: QWidget, text: str, assertive: bool = False) -> bool:
    """Ask the screen reader to read `text` (polite: after what it is saying now).

    Returns False where this Qt cannot announce; callers have already shown the text."""
    if not text or QAccessibleAnnouncementEvent is None:
        return False
    event = QAccessibleAnnouncementEvent(widget, text)
    event.setPoliteness(QAccessible.AnnouncementPoliteness.Assertive if assertive
                        else QAccessible.AnnouncementPoliteness.Polite)
    QAccessible.updateAccessibility(event)
    return True
