"""`retrain --label-words N`: the teaching photos are read and each product's distinctive words
stored; the base model's words of products not read again are kept; no engine, no new words."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from assistant.reading import LabelReader, NullOcrEngine, OcrUnavailable, TextBox
from model.retrain.labels import learn_label_words

#: what the engine "reads" on a photo, by its main colour channel
TEXT = {0: ["Arla", "Ekologisk"], 1: ["Oatly", "Havredryck"], 2: ["Garant", "Mellanmjölk"]}


class ByColour(NullOcrEngine):
    def read(self, rgb):
        self.calls += 1
        words = TEXT[int(np.argmax(rgb.reshape(-1, 3).mean(axis=0)))]
        return [TextBox(w, 0.9, ((10, 10 + 40 * i), (90, 10 + 40 * i), (90, 40 + 40 * i),
                                 (10, 40 + 40 * i))) for i, w in enumerate(words)]


@pytest.fixture
def plan(tmp_path):
    classes = ["arla_eco", "oatly", "garant", "old_product"]
    train = []
    for index, pid in enumerate(classes[:3]):
        colour = [30, 30, 30]
        colour[index] = 220
        for n in range(6):
            path = tmp_path / f"{pid}_{n}.png"
            Image.new("RGB", (64, 64), tuple(colour)).save(path)
            train.append((path, index))
    return SimpleNamespace(classes=classes, train=train, new=classes[:3], replaced=[])


def base_with(words):
    return SimpleNamespace(meta={"label_words": words})


def test_each_product_gets_its_own_words_and_old_ones_are_kept(plan):
    engine = ByColour()
    base = base_with({"old_product": {"yoggi": 1.0}, "gone": {"x": 1.0}, "oatly": {"stale": 1.0}})
    words = learn_label_words(base, plan, 4, LabelReader(engine))
    assert set(words["arla_eco"]) == {"arla", "ekologisk"}
    assert set(words["oatly"]) == {"oatly", "havredryck"}
    assert words["old_product"] == {"yoggi": 1.0}      # not taught again: kept
    assert "gone" not in words                          # not in the new model
    assert engine.calls == 3 * 4                        # N photos of each product, no more


def test_without_an_engine_only_the_old_words_are_kept(plan):
    reader = LabelReader(NullOcrEngine(error=OcrUnavailable("no model files")))
    base = base_with({"old_product": {"yoggi": 1.0}})
    assert learn_label_words(base, plan, 4, reader) == {"old_product": {"yoggi": 1.0}}
