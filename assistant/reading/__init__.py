"""The label reader: the text on a pack (most prominent first), its best-before dates, spoken
in the interface language. No Qt; the engine (RapidOCR) is loaded on the first read."""
from assistant.reading.dates import FoundDate, find_dates, say_date
from assistant.reading.engine import NullOcrEngine, OcrEngine, OcrUnavailable, TextBox, open_engine
from assistant.reading.reader import LabelReader, Reading, open_reader

__all__ = ["FoundDate", "LabelReader", "NullOcrEngine", "OcrEngine", "OcrUnavailable", "Reading",
           "TextBox", "find_dates", "open_engine", "open_reader", "say_date"]
