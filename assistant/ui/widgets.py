"""The main window's pieces: camera preview, the big product name, and the spoken history."""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QImage, QPixmap
from PySide6.QtWidgets import QApplication, QFrame, QLabel, QListWidget, QSizePolicy

# yellow on black: the combination low-vision guidelines rank highest (contrast 19.6:1)
PRODUCT_COLOURS = ("#000000", "#ffeb3b")
MAYBE_COLOUR = "#ffffff"
#: the product name's size relative to the system font, so it follows the user's font choice
PRODUCT_SCALE = 4.0


def frame_to_image(frame: np.ndarray) -> QImage:
    """An RGB uint8 H x W x 3 array as a QImage that owns its pixels."""
    frame = np.ascontiguousarray(frame[..., :3], dtype=np.uint8)
    h, w = frame.shape[:2]
    return QImage(frame.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class PreviewLabel(QLabel):
    """The newest camera frame, scaled to fit with its aspect ratio kept."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("preview")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setStyleSheet("background-color: #202020; color: #ffffff;")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a picture, not a control
        self._image: QImage | None = None
        self.frames_shown = 0

    def show_frame(self, frame: np.ndarray) -> None:
        self._image = frame_to_image(frame)
        self.frames_shown += 1
        self._rescale()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._rescale()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(480, 360)

    def _rescale(self) -> None:
        if self._image is None or self.width() < 2 or self.height() < 2:
            return
        pixmap = QPixmap.fromImage(self._image).scaled(
            self.size(), Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation)
        self.setPixmap(pixmap)


def fitting_size(label: QLabel, largest: float, smallest: float, bold: bool = True,
                 margin: int = 0) -> float:
    """The largest point size, from largest down to smallest, at which label's text, wrapped at
    word boundaries, fits whole inside the label (less margin pixels a side): a long sentence
    is shown smaller rather than cut ("...no está en")."""
    rect = label.contentsRect().adjusted(margin, margin, -margin, -margin)
    if not label.text() or rect.width() <= 0 or rect.height() <= 0:
        return largest
    font = QFont(label.font())
    font.setBold(bold)
    size = largest
    while size > smallest:
        font.setPointSizeF(size)
        needed = QFontMetrics(font).boundingRect(rect, int(Qt.TextFlag.TextWordWrap), label.text())
        if needed.height() <= rect.height() and needed.width() <= rect.width():
            return size
        size = max(smallest, size * 0.9)
    return smallest


class FittingLabel(QLabel):
    """A word-wrapped label whose text scales down to fit whole (never below the system font
    size), re-fitted when its text or its size changes. Subclasses say their style."""

    SCALE = 1.0        # relative to the system font
    MARGIN = 0         # pixels of padding and border a side

    _fitting = False

    def setText(self, words: str) -> None:  # noqa: N802 - Qt's name
        super().setText(words)
        self._refit()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._refit()

    def _refit(self) -> None:
        if self._fitting:      # a new style sheet may resize the label: no re-entry
            return
        self._fitting = True
        try:
            self._apply_style()
        finally:
            self._fitting = False

    # the size the layout gives the label must not follow the fitted text, or fitting and
    # laying out chase each other: the hints come from the system font alone
    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt's name
        return False

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(1, self.hint_height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(1, self.hint_height())

    def hint_height(self) -> int:
        font = QFont(self.font())
        font.setPointSizeF(self.base_size())
        return QFontMetrics(font).lineSpacing() * 2 + 2 * self.MARGIN

    def base_size(self) -> float:
        base = QApplication.font()
        return (base.pointSizeF() if base.pointSizeF() > 0 else 10.0) * self.SCALE

    def fitted_size(self) -> float:
        # never below the system font itself: the size the user reads everything else at
        full = self.base_size()
        return fitting_size(self, full, full / max(self.SCALE, 1.0), margin=self.MARGIN)

    def _apply_style(self, _font=None) -> None:
        raise NotImplementedError


class ProductLabel(FittingLabel):
    """The current product's name in large, high-contrast letters that follow the system
    font size (no pixel sizes anywhere, so 200 % scaling and large-print themes just work)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("product")
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFrameShape(QFrame.Shape.Box)
        self.setLineWidth(3)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # read by announcements and the history
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(1)   # the text wraps and shrinks; it never widens the window
        self.maybe = False
        self._apply_style()
        # the size lives in our style sheet (a parent's style sheet would overrule a plain
        # setFont), so follow the system's font by rewriting it when that changes
        app = QApplication.instance()
        if app is not None:
            app.fontChanged.connect(self._apply_style)

    SCALE = PRODUCT_SCALE
    MARGIN = 24    # the 3 px border and the 0.4 em padding of the style sheet

    def show_product(self, words: str, maybe: bool = False) -> None:
        self.maybe = maybe
        self.setText(words)

    def _apply_style(self, _font=None) -> None:
        size = round(self.fitted_size(), 1)
        background, foreground = PRODUCT_COLOURS
        colour = MAYBE_COLOUR if self.maybe else foreground
        if getattr(self, "_styled", None) == (size, colour):
            return   # unchanged: a new style sheet would lay out (and resize) again for nothing
        self._styled = (size, colour)
        self.setStyleSheet(f"QLabel#product {{ background-color: {background}; color: {colour};"
                           f" border: 3px solid {foreground}; padding: 0.4em;"
                           f" font-size: {size:.1f}pt; font-weight: bold; }}")


class StatusLabel(FittingLabel):
    """The status line: problems in bold at 1.4 x the system font, a fixed STATUS_LINES lines
    high (a long message never squeezes the product box or the history), scaled down to fit
    whole when a sentence is longer (the speech failure, an unknown barcode in Spanish)."""

    SCALE = 1.4
    LINES = 3

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("status")
        self.setWordWrap(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(1)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._apply_style()
        app = QApplication.instance()
        if app is not None:
            app.fontChanged.connect(self._apply_style)

    def base_size(self) -> float:
        return max(QApplication.font().pointSizeF(), 8.0) * self.SCALE

    def _apply_style(self, _font=None) -> None:
        font = QFont(self.font())
        font.setPointSizeF(self.base_size())
        font.setBold(True)
        self.setFixedHeight(QFontMetrics(font).lineSpacing() * self.LINES + 8)
        size = round(self.fitted_size(), 1)
        if getattr(self, "_styled", None) == size:
            return
        self._styled = size
        self.setStyleSheet(f"font-size: {size:.1f}pt; font-weight: bold;")
        font.setPointSizeF(size)
        self.setFont(font)   # what the fitting measures with


class HistoryList(QListWidget):
    """What was said and when, newest at the bottom; a list a screen reader walks with the
    arrow keys. Capped so a day-long run does not grow without end."""

    LIMIT = 500

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("history")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setWordWrap(True)
        self.setUniformItemSizes(False)

    def add(self, words: str, when: float | None = None) -> str:
        """Append one line 'HH:MM:SS  words' and keep it in view; returns the line."""
        stamp = time.strftime("%H:%M:%S", time.localtime(when if when else time.time()))
        line = f"{stamp}  {words}"
        self.addItem(line)
        while self.count() > self.LIMIT:
            self.takeItem(0)
        # follow the newest line unless the user is reading older ones
        if self.currentRow() < 0 or self.currentRow() >= self.count() - 2:
            self.setCurrentRow(self.count() - 1)
        self.scrollToBottom()
        return line

    def lines(self) -> list[str]:
        return [self.item(i).text() for i in range(self.count())]
