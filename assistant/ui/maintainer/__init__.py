"""Maintainer mode: the dialog, its photo and report views, and the retrain worker."""
from assistant.ui.maintainer.dialog import MaintainerDialog

__all__ = ["MaintainerDialog"]
