"""The languages the assistant speaks and shows: the one list (every spoken name, sentence and
window text exists in each of them; checkpoints carry product names in each), their names, and
the one "this language, else English" rule for anything kept per language."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"

#: each language's name, in each language ("es" in English is "Spanish")
LANGUAGE_NAMES: dict[str, dict[str, str]] = {
    "en": {"en": "English", "es": "inglés"},
    "es": {"en": "Spanish", "es": "español"},
}

T = TypeVar("T")


def localized(names: Mapping[str, T], language: str) -> T:
    """names[language], else the English one, else the first there is: a hand-edited file
    (a barcode book, a library) may lack a language, and the user must still hear something."""
    found = names.get(language) or names.get(DEFAULT_LANGUAGE)
    if found:
        return found
    return next((value for value in names.values() if value), "")  # type: ignore[return-value]


def autonym(language: str) -> str:
    """A language's name in itself, as a list of languages shows it: "English", "Español"."""
    name = LANGUAGE_NAMES[language][language]
    return name[:1].upper() + name[1:]


def next_language(language: str) -> str:
    """The language after `language` in the list (the language key walks round them)."""
    index = LANGUAGES.index(language) if language in LANGUAGES else -1
    return LANGUAGES[(index + 1) % len(LANGUAGES)]
