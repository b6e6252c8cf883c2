"""Label words and the fusion rule on synthetic scores: learnt words tell products apart, a
read label moves the answer to its product, nothing read (or nonsense) moves nothing."""
from __future__ import annotations

import pytest

from assistant.reading.labels import LabelWords, fold, fuse, learn, match, named_product, read_in

READINGS = {
    "arla_standard": [["Arla", "Standardmjölk 3%"], ["ARLA", "STANDARDMJÖLK"], ["Arla", "mjölk"]],
    "arla_eco": [["Arla", "Ekologisk", "mellanmjölk"], ["EKOLOGISK", "Arla"], ["Arla Eko"]],
    "oatly": [["Oatly", "Havredryck"], ["OATLY", "the original"], ["oatly"]],
    "garant": [["Garant", "Ekologisk"], ["garant"], ["GARANT", "mellanmjölk"]],
}


@pytest.fixture
def words() -> LabelWords:
    return learn(READINGS)


def test_learnt_words_tell_each_product_from_the_others(words):
    assert "standardmjolk" in words.words["arla_standard"]  # "Standardmjölk" and "STANDARDMJOLK" are one
    assert "oatly" in words.words["oatly"]
    assert "garant" in words.words["garant"]
    # "arla" is on half the products: it cannot tell them apart
    assert all("arla" not in ws for ws in words.words.values())
    assert LabelWords.from_dict(words.to_dict()) == words


def test_a_read_label_moves_the_answer_to_its_product(words):
    probabilities = {"arla_standard": 0.55, "arla_eco": 0.35, "oatly": 0.05, "garant": 0.05}
    matches = match(["Arla", "EKOLOGISK", "Eko"], words)
    fused = fuse(probabilities, matches)
    assert max(fused, key=fused.get) == "arla_eco"
    assert sum(fused.values()) == pytest.approx(1.0)
    assert named_product(matches) == "arla_eco"


def test_one_letter_off_still_matches_long_words(words):
    assert match(["Standardmjolk"], words)["arla_standard"] > 0
    assert "eko" in words.words["arla_eco"]
    assert match(["Ekx"], words)["arla_eco"] == 0  # short words must be read right


@pytest.mark.parametrize("lines", [[], ["XKCD", "qwrtz"], ["ICA 16.90 kr"], ["lorem ipsum dolor"]])
def test_nothing_or_nonsense_read_changes_nothing(words, lines):
    probabilities = {"arla_standard": 0.55, "arla_eco": 0.35, "oatly": 0.05, "garant": 0.05}
    assert fuse(probabilities, match(lines, words)) == pytest.approx(probabilities)
    assert named_product(match(lines, words)) is None


def test_two_products_read_alike_are_not_named(words):
    matches = {"arla_eco": 0.6, "garant": 0.5}
    assert named_product(matches) is None
    assert named_product({"arla_eco": 0.3}) is None


def test_accents_and_digits_read_for_letters_match_as_the_word():
    assert fold("MJÖLK 0ATLY A1pro Va1io 3.0% 1850") == "mjolk oatly alpro valio 3.0% 1850"
    assert read_in("Oatly", ["0ATLY"]) and read_in("Valio", ["VA1IO vanilj"])


@pytest.mark.parametrize("brand, lines", [
    ("Oatly", ["OAT", "LY!", "HAVRE"]),            # the logo's two lines
    ("God-Morgon", ["GOD", "MOR", "GON orange"]),  # three lines on the carton's corner
    ("Arla", ["FRAN SVENSKA ARLAGARDAR"]),          # run together with the next word
    ("Oatly", ["AT LY!"]),                          # one letter lost from the joined name
])
def test_a_brand_split_over_boxes_or_run_together_is_read(brand, lines):
    assert read_in(brand, lines)


@pytest.mark.parametrize("brand, lines", [("Arla", ["KARLA", "ARGA"]), ("Garant", ["GARDAR"]),
                                           ("Oatly", ["HAVRE DRYCK"]), ("Valio", [])])
def test_other_words_are_not_taken_for_the_brand(brand, lines):
    assert not read_in(brand, lines)
