"""The transcript file of `app --transcript`: one line per utterance. No Qt."""
from __future__ import annotations

import datetime as _dt
import logging
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class Transcript:
    """Appends one line per utterance: ISO time, the source item in view (the photo's name
    in a folder, the position in a video, the frame's capture time from a camera; empty when
    nothing is in view), product id or message id, the words, separated by tabs (words may
    hold commas). Opening fails loudly (OSError); a later
    write error (a full disk) is logged once and kept in .error, the app goes on and says so
    when it ends (exit status 1), never a traceback."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()
        self._broken = False
        #: why the transcript is incomplete (None while every line was written)
        self.error: str | None = None

    def write(self, when: float, item: str, ident: str, words: str) -> None:
        stamp = _dt.datetime.fromtimestamp(when).astimezone().isoformat(timespec="milliseconds")
        line = "\t".join((stamp, " ".join(item.split()), ident, " ".join(words.split()))) + "\n"
        with self._lock:
            if self._broken or self._file.closed:
                return
            try:
                self._file.write(line)
            except OSError as exc:
                self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        self._broken = True
        if self.error is None:
            self.error = f"cannot write the transcript {self.path}: {exc.strerror or exc}"
            log.error("%s", self.error)

    def close(self) -> None:
        with self._lock:
            if self._file.closed:
                return
            try:
                self._file.close()
            except OSError as exc:   # the last lines could not be flushed
                self._fail(exc)
