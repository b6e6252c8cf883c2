"""Trial item 11: counts take the singular for one, from the catalogue ("1 photo", "1 foto
guardada"), never "1 photos", "1 productos" or "1 are right"."""
from __future__ import annotations

import re

import pytest

from assistant.catalog import LANGUAGES, PHRASES, fields_of, phrase

WRONG = re.compile(r"\b1 (photos|products|codes|files|are|fotos|productos|códigos|archivos)\b")


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_sentence_says_one_in_the_plural(language):
    wrong = {}
    for message_id in PHRASES:
        words = phrase(message_id, language, **{f: 1 for f in fields_of(message_id)})
        if WRONG.search(words):
            wrong[message_id] = words
    assert not wrong, wrong


def test_the_count_chooses_the_word():
    assert phrase("capture_done", "es", n=1, r=2) == "Hecho: 1 foto guardada, 2 rechazadas."
    assert phrase("capture_done", "en", n=2, r=1) == "Done: 2 photos kept, 1 rejected."
    assert phrase("report_only", "en", current=1, new=3).startswith(
        "Of those photos, 1 is right only")
    assert phrase("model_loaded", "es", count=1) == "Modelo nuevo cargado: 1 producto."
