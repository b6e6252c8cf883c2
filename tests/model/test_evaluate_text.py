"""`evaluate --text --json`: top1_text (the label words read on each photo fused into the
model's answers) beside top1; a model without label words is refused in one line."""
from __future__ import annotations

import json

import numpy as np

from assistant.cli import main
from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
from assistant.reading import NullOcrEngine, TextBox
from assistant.reading import reader as reader_mod

#: what each product's packs print (photo_dir's products are plain colours)
PRINTED = {0: "Tomat krossade", 1: "Grönt te", 2: "Ekologisk mellanmjölk"}
WORDS = {"red_sauce": {"krossade": 1.0, "tomat": 1.0}, "green_tea": {"gront": 1.0},
         "blue_milk": {"ekologisk": 1.0, "mellanmjolk": 1.0}}


class ByColour(NullOcrEngine):
    """Reads the words of the product whose colour dominates the picture."""

    def read(self, rgb):
        self.calls += 1
        channel = int(np.argmax(rgb.reshape(-1, 3).mean(axis=0)))
        return [TextBox(PRINTED[channel], 0.95, ((10, 10), (90, 10), (90, 30), (10, 30)))]


def test_top1_text_fuses_the_words_read_and_beats_a_random_model(tiny_checkpoint, photo_dir,
                                                                  monkeypatch, capsys):
    ckpt = load_checkpoint(tiny_checkpoint)
    save_checkpoint(tiny_checkpoint, ckpt.state_dict, dict(ckpt.meta, label_words=WORDS), half=False)
    engine = ByColour()
    monkeypatch.setattr(reader_mod, "open_engine", lambda name="auto": engine)
    assert main(["evaluate", "--data", str(photo_dir), "--model", str(tiny_checkpoint),
                 "--json", "--text"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert engine.calls == out["n"] == 24 == out["text_photos"]
    assert out["label_words"] == 3
    assert out["top1_text"] == 1.0 > out["top1"]   # a random tiny model, the packs' words read


def test_a_model_without_label_words_is_refused_in_one_line(tiny_checkpoint, photo_dir,
                                                                  capsys):
    assert main(["evaluate", "--data", str(photo_dir), "--model", str(tiny_checkpoint), "--text"]) != 0
    err = capsys.readouterr().err
    assert "no label words" in err and len(err.strip().splitlines()) == 1
