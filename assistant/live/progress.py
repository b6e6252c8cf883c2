"""Recognition falling behind: while pictures keep coming and no picture has been recognised
for STILL_LOOKING seconds (a busy computer), the assistant says "Still looking…" once per
stall rather than stay silent. No Qt."""
from __future__ import annotations

import time

#: seconds without a finished recognition, while pictures keep coming, before "Still
#: looking…" is said (once per stall): a pause of a product's time in view
STILL_LOOKING = 3.0


class Progress:
    """done() when recognition finishes a picture; stalled() on each new picture is True once
    per stall, when STILL_LOOKING seconds passed since the last done()."""

    def __init__(self) -> None:
        self._last = time.monotonic()
        self._said = False

    def done(self) -> None:
        self._last = time.monotonic()
        self._said = False

    def stalled(self) -> bool:
        if self._said or time.monotonic() - self._last < STILL_LOOKING:
            return False
        self._said = True
        return True
