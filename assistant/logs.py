"""Logging: a rotating file in the user's log folder, and stderr with --verbose."""
from __future__ import annotations

import logging
import logging.handlers
import sys

from assistant import paths

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(verbose: bool = False) -> None:
    root = logging.getLogger()
    if getattr(root, "_grocery_configured", False):
        return
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        handler = logging.handlers.RotatingFileHandler(
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
