"""The window's words come from the one catalogue (assistant.live.catalog): `text` is its one
lookup (the same function), and `plain` turns a label into its accessible name."""
from __future__ import annotations

from assistant.live.catalog import phrase as text

__all__ = ["plain", "text"]


def plain(label: str) -> str:
    """A label without its & mnemonic marker (for accessible names)."""
    return label.replace("&", "")
