"""The one background-task class of the window: a function run in its own QThread, whose
result or error comes back as a signal (Qt queues it into the GUI thread). An error becomes
failed(message), which the caller shows and speaks: never a silent dead thread."""
from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

log = logging.getLogger(__name__)


class BackgroundTask(QObject):
    """fn() in a thread; finished(result) or failed(one line for the user)."""

    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], object], priority=QThread.Priority.InheritPriority,
                 name: str = "task", language: str = "en") -> None:
        super().__init__()
        self.fn, self.priority = fn, priority
        self.language = language  # of the error line
        self.thread = QThread()
        self.thread.setObjectName(name)
        self.moveToThread(self.thread)
        self.thread.started.connect(self.run)
        # direct: quit from the task's own thread. Queued to the GUI thread, the quit never
        # came while the GUI thread waited for this thread (closing the dialog took 60 s).
        self.finished.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        self.failed.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start(self.priority)

    def wait(self, ms: int) -> bool:
        return self.thread.wait(ms)

    @Slot()
    def run(self) -> None:
        from assistant.catalog import error_text
        try:
            result = self.fn()
        except Exception as exc:  # reaches the user, spoken and shown
            message = error_text(exc, self.language)
            if message is None:
                log.exception("%s failed", self.thread.objectName())
                message = f"{type(exc).__name__}: {exc}"
            self.failed.emit(message)
            return
        self.finished.emit(result)
