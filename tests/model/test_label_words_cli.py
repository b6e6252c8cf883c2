"""`models words`: the maintainer sees a model's label words and changes a product's; the
weights stay the same, bad words and the bundled model are refused in one line."""
from __future__ import annotations

import torch

from assistant.cli import main
from assistant.inference.checkpoint import load_checkpoint, read_metadata, save_checkpoint

WORDS = {"blue_milk": {"ekologisk": 1.2, "mellanmjolk": 0.6}, "red_sauce": {"krossade": 1.0}}


def with_words(tiny_checkpoint):
    ckpt = load_checkpoint(tiny_checkpoint)
    save_checkpoint(tiny_checkpoint, ckpt.state_dict, dict(ckpt.meta, label_words=WORDS), half=False)
    return tiny_checkpoint


def test_words_are_listed_and_one_product_shown(tiny_checkpoint, capsys):
    model = str(with_words(tiny_checkpoint))
    assert main(["models", "words", "--model", model]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "blue_milk: ekologisk, mellanmjolk" in out and "green_tea: (no label words)" in out
    assert main(["models", "words", "red_sauce", "--model", model]) == 0
    assert capsys.readouterr().out.strip() == "red_sauce: krossade"


def test_set_words_rewrites_the_metadata_and_keeps_the_weights(tiny_checkpoint, capsys):
    model = with_words(tiny_checkpoint)
    before = load_checkpoint(model).state_dict
    assert main(["models", "words", "blue_milk", "--set", "EKOLOGISK", "Laktosfri", "Mjölk",
                 "--model", str(model)]) == 0
    stored = read_metadata(model)["label_words"]
    # kept words keep their learnt weight; added ones count as the strongest; accents folded
    assert stored["blue_milk"] == {"ekologisk": 1.2, "laktosfri": 1.2, "mjolk": 1.2}
    assert stored["red_sauce"] == WORDS["red_sauce"]
    after = load_checkpoint(model).state_dict
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert main(["models", "words", "red_sauce", "--set", "--model", str(model)]) == 0
    assert read_metadata(model)["label_words"]["red_sauce"] == {}


def test_bad_words_unknown_products_and_the_bundled_model_are_refused(tiny_checkpoint, tmp_path,
                                                                     monkeypatch, capsys):
    model = with_words(tiny_checkpoint)
    assert main(["models", "words", "blue_milk", "--set", "ok", "--model", str(model)]) == 2
    assert "cannot be matched" in capsys.readouterr().err
    assert main(["models", "words", "blue_milk", "--set", "3.5%", "--model", str(model)]) == 2
    assert main(["models", "words", "yellow_oil", "--set", "olivia", "--model", str(model)]) == 2
    assert "no product 'yellow_oil'" in capsys.readouterr().err
    assert read_metadata(model)["label_words"] == WORDS          # nothing was lost
    # a bundled model (a copy in a bundled folder of the test's own: a broken check must not
    # rewrite the real one)
    from assistant.store import models
    shipped = tmp_path / "bundled"
    shipped.mkdir()
    bundled = shipped / "lite.safetensors"
    bundled.write_bytes(model.read_bytes())
    monkeypatch.setattr(models, "bundled_dir", lambda: shipped)
    assert main(["models", "words", "blue_milk", "--set", "word", "--model", str(bundled)]) == 2
    assert "bundled model is not changed" in capsys.readouterr().err
    assert read_metadata(bundled)["label_words"] == WORDS
