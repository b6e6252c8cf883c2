"""A fast retrain with --label-words: the new model carries its products' label words, and
`read` with it names the product whose words are on the pack."""
from __future__ import annotations

import json

import numpy as np

from assistant.inference.checkpoint import load_checkpoint
from assistant.reading import NullOcrEngine, TextBox
from assistant.reading import reader as reader_mod
from model.retrain import RetrainConfig, retrain
from tests.model.test_retrain import NEW, base, new_dir  # noqa: F401  (fixtures)

#: the words printed on each new product's packs (the old products' packs have none)
WORDS = {"yellow_oil": "Olivia aceite", "purple_jam": "Mermelada morada"}


class ByColour(NullOcrEngine):
    """Reads a new product's words when its colour is in the middle of the picture."""

    def read(self, rgb):
        self.calls += 1
        h, w = rgb.shape[:2]
        middle = np.median(rgb[h // 3:2 * h // 3, w // 3:2 * w // 3].reshape(-1, 3), axis=0)
        for pid, colour in NEW.items():
            if np.abs(middle - np.array(colour)).max() < 30:
                return [TextBox(WORDS[pid], 0.9, ((10, 10), (60, 10), (60, 30), (10, 30)))]
        return []


def test_a_retrain_learns_label_words_and_read_names_the_product(base, new_dir, tmp_path,  # noqa: F811
                                                                  monkeypatch, capsys):
    engine = ByColour()
    monkeypatch.setattr(reader_mod, "open_engine", lambda name="auto": engine)
    out = tmp_path / "new.safetensors"
    retrain(RetrainConfig(data=str(new_dir), out=str(out), base=str(base), label_words=3))
    words = load_checkpoint(out).meta["label_words"]
    assert set(words["yellow_oil"]) == {"olivia", "aceite"}
    assert set(words["purple_jam"]) == {"mermelada", "morada"}
    photo = next((new_dir / "purple_jam").iterdir())
    from assistant.cli import main
    assert main(["read", str(photo), "--json", "--model", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["product"] == {"id": "purple_jam",
                                                              "name": "purple jam"}
    assert not any(words.get(pid) for pid in ("blue_milk", "green_tea", "red_sauce"))
