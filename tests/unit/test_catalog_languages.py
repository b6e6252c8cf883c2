"""The catalogue's language list, the languages' names and its one "this language, else
English" rule, which product names, barcode names, sentences and key names all go through."""
from __future__ import annotations

from assistant.catalog import (
    LANGUAGE_NAMES,
    LANGUAGES,
    PHRASES,
    SPOKEN_KEYS,
    autonym,
    localized,
    next_language,
    phrase,
)


def test_localized_falls_back_to_english_then_to_any_name():
    names = {"en": "milk", "es": "leche"}
    assert localized(names, "es") == "leche"
    assert localized(names, "de") == "milk"
    assert localized({"es": "leche", "en": "milk"}, "de") == "milk"  # English, not the first
    # a hand-edited barcode book may hold only a Spanish name, or an empty English one
    assert localized({"es": "leche"}, "en") == "leche"
    assert localized({"en": "", "es": "leche"}, "en") == "leche"
    assert localized({}, "en") == ""


def test_every_language_has_a_name_in_every_language_and_its_own_autonym():
    for code in LANGUAGES:
        assert set(LANGUAGE_NAMES[code]) == set(LANGUAGES)
    assert [autonym(c) for c in LANGUAGES] == ["English", "Español"]


def test_the_language_key_walks_round_the_list():
    assert [next_language(c) for c in LANGUAGES] == [*LANGUAGES[1:], LANGUAGES[0]]
    assert next_language("de") == LANGUAGES[0]  # an unknown language starts the walk


def test_command_words_and_key_names_live_in_the_catalogue():
    from assistant.catalog.commands import COMMAND_WORDS
    assert COMMAND_WORDS and set(COMMAND_WORDS) <= set(PHRASES)
    assert phrase("command_identify_desc", "es").startswith("identificar")
    assert localized(SPOKEN_KEYS, "es")["Up"] == "flecha arriba"
    assert localized(SPOKEN_KEYS, "de") is SPOKEN_KEYS["en"]
