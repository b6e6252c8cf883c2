"""`classify DIR --text`: the text and dates columns (CSV and JSON), with the null text engine
standing in for RapidOCR; without a text engine the run fails in one line."""
from __future__ import annotations

import csv
import json

import pytest

from assistant.cli import main
from assistant.reading import NullOcrEngine, OcrUnavailable, TextBox
from assistant.reading import reader as reader_mod

LABEL = [TextBox("Arla", 0.9, ((10, 10), (80, 10), (80, 40), (10, 40))),
         TextBox("Use by 03.01.2027", 0.9, ((10, 60), (80, 60), (80, 66), (10, 66)))]


@pytest.fixture
def null_engine(monkeypatch):
    engine = NullOcrEngine(LABEL)
    monkeypatch.setattr(reader_mod, "open_engine", lambda name="auto": engine)
    return engine


def test_text_adds_the_text_and_dates_columns(photo_dir, tiny_checkpoint, tmp_path, null_engine,
                                              capsys):
    out = tmp_path / "r.csv"
    folder = photo_dir / "green_tea"
    assert main(["classify", str(folder), "--out", str(out), "--model", str(tiny_checkpoint),
                 "--text", "--no-progress"]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == ["path", "label", "score", "top3", "text", "dates"]
    assert len(rows) == 8 == null_engine.calls
    assert {(r["text"], r["dates"]) for r in rows} == {("Arla / Use by 03.01.2027",
                                                         "2027-01-03:use_by")}


def test_text_in_json_and_plain_classify_unchanged(photo_dir, tiny_checkpoint, tmp_path,
                                                   null_engine, capsys):
    folder = photo_dir / "green_tea"
    assert main(["classify", str(folder), "--json", "--model", str(tiny_checkpoint), "--text",
                 "--no-progress"]) == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert result["text"] == ["Arla", "Use by 03.01.2027"]
    assert result["dates"] == [{"text": "Use by 03.01.2027", "date": "2027-01-03", "kind": "use_by"}]
    out = tmp_path / "plain.csv"
    assert main(["classify", str(folder), "--out", str(out), "--model", str(tiny_checkpoint),
                 "--no-progress"]) == 0
    assert out.read_text(encoding="utf-8").splitlines()[0] == "path,label,score,top3"
    assert null_engine.calls == 8  # only the --text run read


def test_text_without_an_engine_fails_in_one_line(photo_dir, tiny_checkpoint, tmp_path,
                                                   monkeypatch, capsys):
    def missing(name="auto"):
        raise OcrUnavailable("rapidocr-onnxruntime is not installed")
    monkeypatch.setattr(reader_mod, "open_engine", missing)
    assert main(["classify", str(photo_dir / "green_tea"), "--out", str(tmp_path / "r.csv"),
                 "--model", str(tiny_checkpoint), "--text", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("--text: no text engine (rapidocr-onnxruntime is not installed)")
