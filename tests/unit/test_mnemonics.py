"""Trial item 11: one Alt+letter per command, the same in English and Spanish (Alt+C was
"Activate" in English and "Assign barcode" in Spanish), and no two controls of one window
sharing a letter."""
from __future__ import annotations

import re

import pytest

from assistant.catalog import LANGUAGES, PHRASES

#: the labelled controls of each window, by catalogue id
WINDOWS = {
    "maintainer": ["products", "add", "import", "capture", "scan", "rename", "merge", "remove",
                   "mode", "only", "block", "words", "retrain", "cancel", "report", "activate",
                   "rollback", "bundled", "words_edit"],
    "settings": ["language", "voice", "rate", "volume", "camera", "hold", "continuous",
                 "barcodes_on", "barcode_ticks", "say_threshold", "maybe_threshold", "window",
                 "agreement", "keys_reset"],
    "name dialog": ["english", "spanish"],
}


def mnemonic(message_id: str, language: str) -> str:
    found = re.findall(r"&(\w)", PHRASES[message_id][language])
    assert len(found) == 1, f"{message_id} ({language}) needs exactly one &letter"
    return found[0].lower()


@pytest.mark.parametrize("window", WINDOWS)
def test_each_command_keeps_its_letter_in_both_languages(window):
    moved = {m: [mnemonic(m, lang) for lang in LANGUAGES] for m in WINDOWS[window]
             if len({mnemonic(m, lang) for lang in LANGUAGES}) > 1}
    # the two names of the name dialog are "English"/"inglés" and "Spanish"/"español": no
    # letter serves both languages without a clash, so they alone may differ
    if window == "name dialog":
        return
    assert not moved, moved


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("window", WINDOWS)
def test_no_two_controls_of_a_window_share_a_letter(window, language):
    letters = [mnemonic(m, language) for m in WINDOWS[window]]
    clashes = {c for c in letters if letters.count(c) > 1}
    assert not clashes, {m: mnemonic(m, language) for m in WINDOWS[window]
                         if mnemonic(m, language) in clashes}
