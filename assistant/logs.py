"""Logging: a rotating file in the user's log folder, and stderr with --verbose."""
from __future__ import annotations

import logging
import logging.handlers
import sys

from assistant import paths

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _LogFile(logging.handlers.RotatingFileHandler):
    """The log file; when it cannot be written (disk full, folder gone) that is said once, in
    one line on stderr, and the file is given up: never a traceback per message."""

    given_up = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.given_up:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        if self.given_up:
            return
        self.given_up = True  # kept as a silent handler: Python's last resort would print each message
        reason = sys.exc_info()[1]
        print(f"warning: cannot write the log file {self.baseFilename} ({reason}); "
              "logging to it stops", file=sys.stderr)


def setup_logging(verbose: bool = False) -> None:
    root = logging.getLogger()
    if getattr(root, "_grocery_configured", False):
        return
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        handler = _LogFile(
            paths.log_dir() / "assistant.log", maxBytes=1_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
    except OSError as exc:  # a read-only home must not stop the app
        print(f"warning: cannot write the log file: {exc}", file=sys.stderr)
    if verbose:
        err = logging.StreamHandler(sys.stderr)
        err.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(err)
    root._grocery_configured = True  # type: ignore[attr-defined]
