"""The label reader without a real engine: what is kept, in which order, in what lines; the
engine-missing path; `main.py read` on photos (the null engine reads what the test says)."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from PIL import Image

from assistant.reading import LabelReader, NullOcrEngine, OcrUnavailable, TextBox
from assistant.reading import engine as engine_mod
from assistant.reading import reader as reader_mod
from assistant.reading.layout import plausible, read_lines, short_lines
from tests.helpers import make_photo

W, H = 640, 480


def save_photo(path) -> None:
    Image.fromarray(make_photo((200, 40, 40))).save(path)


def box(text: str, x: float, y: float, w: float, h: float, score: float = 0.95) -> TextBox:
    return TextBox(text, score, ((x, y), (x + w, y), (x + w, y + h), (x, y + h)))


def test_large_central_text_first_then_the_rest_in_reading_order():
    boxes = [
        box("ICA 16.90 kr", 10, 10, 120, 14),            # shelf label, top left corner, small
        box("Mellanmjölk", 250, 260, 160, 40),           # the pack's second line, large
        box("Arla", 260, 190, 120, 60),                  # the brand, large, central
        box("1.5% fett", 270, 320, 90, 20),
        box("Oatly", 560, 440, 60, 16),                  # a pack behind, small, at the edge
    ]
    assert read_lines(boxes, W, H) == ["Arla", "Mellanmjölk", "ICA 16.90 kr", "1.5% fett", "Oatly"]


def test_boxes_side_by_side_make_one_line_left_to_right():
    boxes = [box("milk", 300, 200, 80, 30), box("Arla", 200, 204, 80, 30)]
    assert read_lines(boxes, W, H) == ["Arla milk"]


def test_a_word_said_twice_in_a_row_is_said_once():
    boxes = [box("alpro", 100, 200, 80, 30), box("Alpro", 200, 202, 80, 30),
             box("Mild", 300, 201, 60, 30)]
    assert read_lines(boxes, W, H) == ["alpro Mild"]


def test_long_lines_are_cut_into_short_spoken_lines():
    assert short_lines(["one two three four five six seven"]) == [
        "one two three four five six", "seven"]
    long_word_line = "Ingredients: oat base water oats rapeseed oil calcium"
    assert all(len(line) <= 40 for line in short_lines([long_word_line]))


@pytest.mark.parametrize("text", ["XKCDZ", "IIIIIII", "llll", "a a = 2 <", "|||||", "::--::", "x"])
def test_text_read_from_a_pattern_is_not_plausible(text):
    assert not plausible(text)


@pytest.mark.parametrize("text", ["Arla", "MJÖLK", "1.5%", "20.12.2026", "Leche entera", "1L"])
def test_words_and_figures_are_plausible(text):
    assert plausible(text)


def test_unsure_foreign_and_duplicate_text_is_dropped():
    boxes = [box("Arla", 200, 100, 100, 40), box("福兰", 200, 200, 100, 40),
             box("Valio", 200, 300, 100, 40, score=0.3), box("ARLA", 200, 400, 100, 40),
             box("QWRTZP", 400, 100, 100, 40)]
    assert read_lines(boxes, W, H) == ["Arla"]


def test_a_reading_speaks_dates_first_and_says_when_nothing_was_read():
    reader = LabelReader(NullOcrEngine([box("Arla", 200, 100, 200, 60),
                                        box("Bäst före 01.02.2020", 200, 300, 200, 20)]))
    reading = reader.read(np.zeros((H, W, 3), np.uint8))
    assert [d.date for d in reading.dates] == ["2020-02-01"]
    assert reading.sentences("en")[0] == "Best before 1 February 2020. That date has passed."
    assert reading.sentences("es")[1:] == ["Arla", "Bäst före 01.02.2020"]
    empty = LabelReader(NullOcrEngine([])).read(np.zeros((H, W, 3), np.uint8))
    assert empty.sentences("en") == ["No text found. Turn the pack slowly."]
    assert empty.sentences("es") == ["No encuentro texto. Gire el envase despacio."]
    assert empty.date_sentences("en") == ["No date found. Turn the pack slowly."]


def test_a_big_picture_is_shrunk_before_the_engine_sees_it():
    seen = []

    class Spy(NullOcrEngine):
        def read(self, rgb):
            seen.append(rgb.shape)
            return []

    LabelReader(Spy()).read(np.zeros((3000, 4000, 3), np.uint8))
    assert max(seen[0][:2]) == reader_mod.READ_SIDE


def test_an_engine_that_cannot_load_says_why_each_time(monkeypatch):
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # import fails
    with pytest.raises(OcrUnavailable):
        engine_mod.open_engine("auto")
    broken = engine_mod.RapidOcrEngine()
    for _ in range(2):
        with pytest.raises(OcrUnavailable, match="rapidocr_onnxruntime"):
            broken.read(np.zeros((64, 64, 3), np.uint8))
    reader, why = reader_mod.open_reader("auto")
    assert reader is None and "not installed" in why


@pytest.fixture
def null_reader(monkeypatch):
    engine = NullOcrEngine([box("Oatly", 100, 100, 200, 60),
                            box("EXP 12/27", 100, 300, 120, 20)])
    monkeypatch.setattr(reader_mod, "open_engine", lambda name="auto": engine)
    return engine


def test_read_command_json_one_object_per_photo(tmp_path, null_reader, capsys):
    from assistant.cli import main
    for name in ("a.jpg", "b.png"):
        save_photo(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a photo")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    assert main(["read", str(tmp_path), "--json"]) == 0
    out, err = capsys.readouterr()
    objects = [json.loads(line) for line in out.splitlines()]
    assert [o["photo"].rsplit("/", 1)[-1] for o in objects] == ["a.jpg", "b.png"]
    assert objects[0] == {"photo": str(tmp_path / "a.jpg"), "lines": ["Oatly", "EXP 12/27"],
                          "dates": [{"text": "EXP 12/27", "date": "2027-12", "kind": "expiry"}],
                          "product": None}
    assert err.count("\n") == 1 and "broken.jpg" in err  # one line for the unreadable photo


def test_read_command_speaks_in_the_chosen_language(tmp_path, null_reader, capsys):
    from assistant.cli import main
    save_photo(tmp_path / "a.jpg")
    assert main(["read", str(tmp_path / "a.jpg"), "--language", "es",
                 "--today", "2028-01-01"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == ["  Caduca a finales de diciembre de 2027. Esa fecha ya ha pasado.",
                       "  Oatly", "  EXP 12/27"]


def test_read_command_without_photos_fails_in_one_line(tmp_path, null_reader, capsys):
    from assistant.cli import main
    assert main(["read", str(tmp_path / "missing.jpg")]) == 1
    assert capsys.readouterr().err.strip().endswith("no such file or folder")


def test_a_huge_photo_is_refused_in_one_line_and_the_others_are_read(tmp_path, null_reader,
                                                                      capsys):
    from assistant.cli import main
    from tests.e2e.test_api import png_bomb
    (tmp_path / "huge.png").write_bytes(png_bomb(20000))  # 400 megapixels, a few KB on disk
    save_photo(tmp_path / "ok.jpg")
    assert main(["read", str(tmp_path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert [json.loads(line)["photo"] for line in out.splitlines()] == [str(tmp_path / "ok.jpg")]
    assert err.count("\n") == 1 and "huge.png: too many pixels" in err
    assert null_reader.calls == 1


def test_all_lines_are_kept_and_at_most_max_lines_are_said():
    from assistant.reading.layout import MAX_LINES
    boxes = [box(f"line{i} word", 100, 20 + 24 * i, 120, 20) for i in range(MAX_LINES + 3)]
    reading = LabelReader(NullOcrEngine(boxes)).read(np.zeros((H + 200, W, 3), np.uint8))
    assert len(reading.lines) == MAX_LINES + 3
    assert reading.sentences("en") == reading.lines[:MAX_LINES]


@pytest.fixture
def labelled_model(tiny_checkpoint, tmp_path):
    """The tiny model with label words for its tomato sauce in its metadata."""
    from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
    ckpt = load_checkpoint(tiny_checkpoint)
    meta = dict(ckpt.meta, label_words={"red_sauce": {"tomate": 1.0, "frito": 0.5},
                                        "green_tea": {"matcha": 1.0}})
    return save_checkpoint(tmp_path / "labelled.safetensors", ckpt.state_dict, meta)


def test_label_words_in_the_model_name_the_product(tmp_path, labelled_model, monkeypatch, capsys):
    from assistant.cli import main
    engine = NullOcrEngine([box("Tomate frito", 100, 100, 200, 60)])
    monkeypatch.setattr(reader_mod, "open_engine", lambda name="auto": engine)
    save_photo(tmp_path / "a.jpg")
    assert main(["read", str(tmp_path / "a.jpg"), "--json", "--model", str(labelled_model),
                 "--language", "es"]) == 0
    assert json.loads(capsys.readouterr().out)["product"] == {"id": "red_sauce",
                                                              "name": "salsa de tomate"}
    assert main(["read", str(tmp_path / "a.jpg"), "--model", str(labelled_model)]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["  tomato sauce", "  Tomate frito"]


@pytest.mark.parametrize("text", ["QWRTZP XKCD", "lorem ipsum", "tomatoes"])
def test_other_or_nonsense_text_names_no_product(tmp_path, labelled_model, monkeypatch, capsys,
                                                 text):
    from assistant.cli import main
    engine = NullOcrEngine([box(text, 100, 100, 200, 60)])
    monkeypatch.setattr(reader_mod, "open_engine", lambda name="auto": engine)
    save_photo(tmp_path / "a.jpg")
    assert main(["read", str(tmp_path / "a.jpg"), "--json", "--model", str(labelled_model)]) == 0
    assert json.loads(capsys.readouterr().out)["product"] is None
