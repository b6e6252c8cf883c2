"""Grocery assistant: tells visually impaired shoppers which product they are holding."""

__version__ = "0.1.0"
