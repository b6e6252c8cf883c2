"""Read one picture: the engine's boxes -> lines (most prominent first) -> dates, and the
sentences to say. What the CLI, the window, classify and the API all call."""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.catalog import localized, phrase
from assistant.inference.vision import load_image
from assistant.reading.dates import FoundDate, find_dates, say_date
from assistant.reading.engine import OcrEngine, OcrUnavailable, open_engine
from assistant.reading.labels import LabelWords, match, named_product
from assistant.reading.layout import MAX_LINES, read_lines

log = logging.getLogger(__name__)

#: the engine sees at most this longest side: more only costs time (labels read well at it)
READ_SIDE = 1280
#: smaller than this the detector's own up-scaling (to 736 px) does better than ours would
MIN_SIDE = 32


@dataclass
class Reading:
    """What was read in one picture."""

    lines: list[str] = field(default_factory=list)
    dates: list[FoundDate] = field(default_factory=list)
    product: dict | None = None  # {"id", "names": {language: name}} when its label words were read
    ms: float = 0.0

    @property
    def empty(self) -> bool:
        return not self.lines

    def to_dict(self, photo: str | None = None, language: str = "en") -> dict:
        product = None if self.product is None else {
            "id": self.product["id"],
            "name": localized(self.product["names"], language)}
        out: dict = {"lines": list(self.lines), "dates": [d.to_dict() for d in self.dates],
                     "product": product}
        return {"photo": photo, **out} if photo is not None else out

    def sentences(self, language: str, today: dt.date | None = None) -> list[str]:
        """What is said, one sentence per line: the dates first (what a shopper reads a label
        for most), then the first MAX_LINES lines of text (a shelf full of packs must not talk
        for a minute); "No text found..." when nothing was read."""
        if self.empty:
            return [phrase("read_nothing", language)]
        dates = [say_date(d, language, today) for d in self.dates]
        text = (phrase("read_text", language, text=line) for line in self.lines[:MAX_LINES])
        name = [] if self.product is None else [self.to_dict(None, language)["product"]["name"]]
        return [*name, *dates, *text]

    def date_sentences(self, language: str, today: dt.date | None = None) -> list[str]:
        """Only the dates ("No date found..." when there is none)."""
        if not self.dates:
            return [phrase("read_no_date", language)]
        return [say_date(d, language, today) for d in self.dates]


class LabelReader:
    """An engine and the rules that turn its boxes into a Reading. Thread-safe for one reader
    at a time per engine (the window runs one reading at a time)."""

    def __init__(self, engine: OcrEngine | None = None, labels: LabelWords | None = None,
                 names: dict[str, dict[str, str]] | None = None) -> None:
        """labels: the known products' label words (a Reading names the product they point
        to); names: product id -> {language: spoken name}."""
        self.engine = engine if engine is not None else open_engine("auto")
        self.labels, self.names = labels, names or {}

    def read(self, rgb: np.ndarray) -> Reading:
        """Read an HxWx3 RGB picture."""
        t0 = time.perf_counter()
        height, width = rgb.shape[:2]
        if min(height, width) < MIN_SIDE:
            return Reading(ms=(time.perf_counter() - t0) * 1000)
        picture, scale = _fit(rgb, READ_SIDE)
        boxes = self.engine.read(picture)
        lines = read_lines(boxes, int(width * scale), int(height * scale))
        product = None
        if self.labels is not None:
            pid = named_product(match(lines, self.labels))
            if pid is not None:
                product = {"id": pid, "names": self.names.get(pid) or {"en": pid}}
        return Reading(lines, find_dates(lines), product, (time.perf_counter() - t0) * 1000)

    def read_photo(self, path: str | Path) -> Reading:
        """Read a photo file; ImageError (one line) for one that is not a readable picture."""
        return self.read(load_image(path))


def _fit(rgb: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    height, width = rgb.shape[:2]
    longest = max(height, width)
    if longest <= side:
        return rgb, 1.0
    import cv2
    scale = side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale


def labels_of(meta: dict | None) -> tuple[LabelWords | None, dict[str, dict[str, str]]]:
    """A model's label words (metadata "label_words": product id -> {word: weight}) and its
    products' names; (None, {}) for a model without them."""
    if not meta or not isinstance(meta.get("label_words"), dict):
        return None, {}
    names = {c["id"]: dict(c.get("names") or {}) for c in meta.get("classes", [])}
    return LabelWords.from_dict(meta["label_words"]), names


def open_reader(name: str = "auto", meta: dict | None = None
                ) -> tuple[LabelReader | None, str | None]:
    """(reader, None), or (None, why) when the engine cannot be had: callers go on without
    reading and say why once. meta: the model's metadata (its label words name products)."""
    try:
        return LabelReader(open_engine(name), *labels_of(meta)), None
    except OcrUnavailable as exc:
        log.warning("no text engine: %s", exc)
        return None, str(exc)
