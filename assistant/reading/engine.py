"""Text engines behind one small interface: the real one (RapidOCR: PP-OCRv4 detection and
recognition as ONNX files inside its wheel, run by ONNX Runtime, nothing downloaded) and a
null twin that reads what a test tells it to.

Chosen by measurement (docs/reading.md): on 24 GroceryStore photos of packaged products
(348 px), RapidOCR read the brand on 8, Tesseract 5 (eng+spa, --psm 11) on none.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextBox:
    """One piece of text the engine found: its words, its confidence (0-1) and its corners
    ((x, y) pixels, clockwise from the top left as the engine gives them)."""

    text: str
    score: float
    box: tuple[tuple[float, float], ...]

    @property
    def height(self) -> float:
        ys = [y for _, y in self.box]
        return max(ys) - min(ys)

    @property
    def width(self) -> float:
        xs = [x for x, _ in self.box]
        return max(xs) - min(xs)

    @property
    def centre(self) -> tuple[float, float]:
        xs, ys = [x for x, _ in self.box], [y for _, y in self.box]
        return (sum(xs) / len(xs), sum(ys) / len(ys))


class OcrUnavailable(RuntimeError):
    """The text engine cannot be loaded (not installed, damaged model files); str() says why."""


class OcrEngine:
    """What every text engine answers: read(rgb) -> the text boxes in the picture."""

    name = "none"

    def read(self, rgb: np.ndarray) -> list[TextBox]:
        raise NotImplementedError


class NullOcrEngine(OcrEngine):
    """The null twin: returns the boxes it was given (for every picture), or fails as told.

    `calls` counts reads; `gate` (a threading.Event), when set up, holds each read until it is
    set, so a test can look at the window while a reading is in progress."""

    name = "null"

    def __init__(self, boxes: list[TextBox] | None = None, error: Exception | None = None,
                 gate: threading.Event | None = None) -> None:
        self.boxes = list(boxes or [])
        self.error = error
        self.gate = gate
        self.calls = 0

    def read(self, rgb: np.ndarray) -> list[TextBox]:
        self.calls += 1
        if self.gate is not None:
            self.gate.wait()
        if self.error is not None:
            raise self.error
        return list(self.boxes)


class RapidOcrEngine(OcrEngine):
    """RapidOCR (rapidocr-onnxruntime). Loaded on the first read, so opening the app never
    waits for it; a load failure raises OcrUnavailable (and again on every later read)."""

    name = "rapidocr"

    def __init__(self, threads: int = 2) -> None:
        self.threads = threads
        self._ocr = None
        self._error: str | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the models now (raises OcrUnavailable)."""
        with self._lock:
            if self._ocr is not None:
                return
            if self._error is not None:
                raise OcrUnavailable(self._error)
            try:
                from rapidocr_onnxruntime import RapidOCR
                _sleeping_threads()
                # the orientation classifier only turns upside-down words, which a shopper
                # turns by hand; leaving it out saves a tenth of each read
                self._ocr = RapidOCR(use_cls=False, intra_op_num_threads=self.threads,
                                     inter_op_num_threads=1)
            except Exception as exc:  # ImportError, a damaged ONNX file, a missing library
                self._error = f"{type(exc).__name__}: {exc}"
                log.error("the text engine cannot be loaded: %s", self._error)
                raise OcrUnavailable(self._error) from exc

    def read(self, rgb: np.ndarray) -> list[TextBox]:
        self.load()
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])  # RapidOCR takes OpenCV's channel order
        result, _elapsed = self._ocr(bgr)
        boxes = []
        for corners, text, score in result or []:
            points = tuple((float(x), float(y)) for x, y in corners)
            boxes.append(TextBox(str(text), float(score), points))
        return boxes


ENGINES = ("auto", "rapidocr", "none")


def open_engine(name: str = "auto") -> OcrEngine:
    """The text engine called name ("auto": the best installed; "none": the null twin that
    reads nothing). Raises OcrUnavailable when name cannot be had."""
    if name == "none":
        return NullOcrEngine()
    if name not in ENGINES:
        raise OcrUnavailable(f"unknown text engine {name!r} (known: {', '.join(ENGINES)})")
    try:
        import rapidocr_onnxruntime  # noqa: F401  (only to know it is there)
    except Exception as exc:
        raise OcrUnavailable(f"rapidocr-onnxruntime is not installed ({exc})") from exc
    return RapidOcrEngine()


def _sleeping_threads() -> None:
    """RapidOCR's ONNX Runtime sessions made with threads that sleep between calls, as the
    classifier's are (assistant/inference/onnx_backend.py): spinning, they held the cores the
    classifier shares while a label is read beside it. Measured with a training on the other
    core (load 2.7, `/tmp` A/B, 6 GroceryStore val photos): a read 0.43 -> 0.25 s median, a frame
    classified meanwhile 80 -> 61 ms. RapidOCR gives no option for it, so its session options
    are extended where its pinned version makes them (left as they are if that ever moves)."""
    from rapidocr_onnxruntime.utils import infer_engine
    session = getattr(infer_engine, "OrtInferSession", None)
    make = getattr(session, "_init_sess_opts", None)
    if make is None or getattr(make, "sleeping", False):
        return

    def options(config):
        opts = make(config)
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return opts
    options.sleeping = True
    session._init_sess_opts = staticmethod(options)
