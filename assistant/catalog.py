"""What the assistant says: UI phrases in English and Spanish, product names from the model."""
from __future__ import annotations

LANGUAGES = ("en", "es")


def phrase(message_id: str, language: str = "en", **fields: object) -> str:
    """The sentence for message_id in language (English if missing), fields filled in."""
    raise NotImplementedError


def product_name(classifier_or_checkpoint: object, class_id: str, language: str = "en") -> str:
    """The spoken name of class_id, from the checkpoint's metadata."""
    raise NotImplementedError
