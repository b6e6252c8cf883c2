"""The languages the assistant speaks and shows: the one list (every spoken name, sentence and
window text exists in each of them; checkpoints carry product names in each)."""

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"
