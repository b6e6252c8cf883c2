"""The real text engine (RapidOCR, models inside its wheel) reads a printed date sticker; skipped
where rapidocr-onnxruntime is not installed (CI installs it: scripts/setup.sh)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from assistant.reading import LabelReader, open_engine


def sticker(words: str, px: int = 40) -> np.ndarray:
    import matplotlib
    from PIL import Image, ImageDraw, ImageFont
    font = ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf"), px)
    picture = Image.new("RGB", (640, 480), (120, 90, 60))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((40, 180, 600, 300), fill=(250, 250, 245))
    draw.text((60, 215), words, font=font, fill=(20, 20, 20))
    return np.asarray(picture)


@pytest.fixture(scope="module")
def reader():
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("rapidocr-onnxruntime is not installed (scripts/setup.sh installs it)")
        pytest.skip("rapidocr-onnxruntime is not installed")
    return LabelReader(open_engine("auto"))


@pytest.mark.parametrize(("words", "date", "kind"), [
    ("Best before 20.12.2026", "2026-12-20", "best_before"),
    ("Caducidad 15/08/27", "2027-08-15", "expiry"),
])
def test_the_real_engine_reads_a_printed_date(reader, words, date, kind):
    reading = reader.read(sticker(words))
    assert [(d.date, d.kind) for d in reading.dates] == [(date, kind)], reading.lines


def test_a_plain_picture_has_no_text(reader):
    assert reader.read(np.full((480, 640, 3), 128, np.uint8)).empty


def test_the_engines_threads_sleep_between_reads(reader):
    """Its ONNX Runtime sessions do not spin between calls (the classifier shares the cores: a
    read and the frames classified beside it took 1.7 and 1.3 times as long so, docs/speed.md)."""
    reader.read(sticker("Arla"))  # loaded
    ocr = reader.engine._ocr
    for session in (ocr.text_det.infer.session, ocr.text_rec.session.session):  # detect, recognise
        options = session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
