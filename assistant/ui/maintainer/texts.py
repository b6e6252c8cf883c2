"""Maintainer mode's words come from the one catalogue (assistant.live.catalog): `tr` is its one
lookup (the same function), and `plain` turns a label into its accessible name."""
from __future__ import annotations

from assistant.live.catalog import phrase as tr

__all__ = ["plain", "tr"]


def plain(label: str) -> str:
    """A label's accessible name: no & mnemonic, no trailing ellipsis or colon."""
    return label.replace("&", "").replace("…", "").rstrip(":").strip()
