"""The one catalogue of sentences, in every language of its language list, and its one lookup.

Product names live in each checkpoint's metadata (so a retrained model brings its own);
everything else the assistant says or shows is here, keyed by a message id that also goes
into the history and the transcript: what it says (spoken.py), the window's words
(window.py), maintainer mode's (maintainer.py), the label reader's (reading.py), the errors a
user can mend (errors.py), the progress of training (training.py) and the commands' words and
spoken key names (commands.py). An id lives in one table only. The language list, the
languages' names and the one "this language, else English" rule are in languages.py. It stands
on the base floor: the live flow, the store, training and the window all speak through it.
"""
from __future__ import annotations

import logging
import re
import string

from assistant.catalog.commands import COMMAND_WORDS, SPOKEN_KEYS
from assistant.catalog.errors import ERRORS
from assistant.catalog.languages import (
    DEFAULT_LANGUAGE,
    LANGUAGE_NAMES,
    LANGUAGES,
    autonym,
    localized,
    next_language,
)
from assistant.catalog.maintainer import MAINTAINER
from assistant.catalog.reading import READING
from assistant.catalog.spoken import SPOKEN
from assistant.catalog.training import TRAINING
from assistant.catalog.window import WINDOW
from assistant.errors import user_message

log = logging.getLogger(__name__)


def _merge(*tables: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for table in tables:
        twice = merged.keys() & table.keys()
        if twice:
            raise ValueError(f"message ids in two tables of the catalogue: {sorted(twice)}")
        merged.update(table)
    return merged


#: every message id -> {language: template}
PHRASES: dict[str, dict[str, str]] = _merge(SPOKEN, WINDOW, MAINTAINER, ERRORS, TRAINING, READING,
                                           COMMAND_WORDS)

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "LANGUAGE_NAMES", "PHRASES", "SPOKEN_KEYS", "autonym", "error_text",
           "fields_in", "fields_of", "localized", "next_language", "phrase", "plain", "product_name"]


def phrase(message_id: str, language: str = "en", /, **fields: object) -> str:
    """The sentence for message_id in language (English if missing), fields filled in.

    The one failure rule: an unknown id or a missing field is a programming error, but the
    shopper must still hear (and the window show) something: it is logged and the bare id's
    words (or the unfilled text) are returned.
    """
    entry = PHRASES.get(message_id)
    if entry is None:
        log.error("no phrase for message id %r", message_id)
        return message_id.replace("_", " ")
    template = localized(entry, language)
    try:
        return _plurals(template, fields).format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        log.error("phrase %r in %s lacks a field: %s", message_id, language, exc)
        return template


#: "{n|photo|photos}": the word for one, or for any other count, of the field n
_PLURAL = re.compile(r"\{(\w+)\|([^{}|]*)\|([^{}|]*)\}")


def _plurals(template: str, fields: dict) -> str:
    """Choose each "{n|one|other}" by the count in fields (English and Spanish both use the
    singular for exactly 1): "1 photo", "2 photos"; "1 foto guardada", "2 fotos guardadas"."""
    def choose(match: re.Match) -> str:
        count = fields[match.group(1)]
        return match.group(2) if count == 1 else match.group(3)
    return _PLURAL.sub(choose, template)


def duration(seconds: float, language: str = "en") -> str:
    """A time as said: "40 s", "9 min", "1.5 h" (rounded as a person would say it)."""
    if seconds < 90:
        return phrase("seconds", language, n=max(int(round(seconds)), 1))
    if seconds < 90 * 60:
        return phrase("minutes", language, n=int(round(seconds / 60)))
    hours = f"{seconds / 3600:.1f}".removesuffix(".0")
    return phrase("hours", language, n=hours.replace(".", ",") if language == "es" else hours)


def plain(label: str) -> str:
    """A label's accessible name: no & mnemonic, no trailing ellipsis or colon (a screen
    reader would read them out)."""
    return label.replace("&", "").replace("…", "").rstrip(":").strip()


def error_text(exc: BaseException, language: str = "en") -> str | None:
    """The one line for an error the user can mend, in language: its catalogue sentence when
    it names one (UserError(..., message_id=...)), else its own words; None for a bug."""
    message_id = getattr(exc, "message_id", None)
    if message_id in PHRASES:
        return phrase(message_id, language, **getattr(exc, "fields", {}))
    return user_message(exc)


def fields_of(message_id: str) -> set[str]:
    """The {fields} a phrase expects (for tests and the help)."""
    names: set[str] = set()
    for template in PHRASES.get(message_id, {}).values():
        names |= fields_in(template)
    return names


def fields_in(template: str) -> set[str]:
    """The fields one template uses, its plural choices' counts included."""
    names = {m.group(1) for m in _PLURAL.finditer(template)}
    plain = _PLURAL.sub("", template)
    return names | {f for _, f, _, _ in string.Formatter().parse(plain) if f}


def product_name(ckpt, class_id: str, language: str = "en") -> str:
    """The spoken name of class_id, from the checkpoint's metadata (a classifier's .checkpoint:
    the catalogue sits below the inference floor and takes it untyped); an id the model does
    not know is spoken as its words."""
    try:
        return ckpt.name(ckpt.class_ids.index(class_id), language)
    except (ValueError, KeyError, IndexError, AttributeError):
        log.warning("no name for product %r in %s", class_id, language)
        return class_id.replace("_", " ").replace("-", " ")
