"""Where settings, user data, models and logs live (platformdirs, overridable for tests).

Set GROCERY_ASSISTANT_HOME to a folder to keep everything under it (tests do this so
they never touch the real home).
"""
from __future__ import annotations

import os
from pathlib import Path

from platformdirs import PlatformDirs

APP_NAME = "grocery-assistant"
HOME_ENV = "GROCERY_ASSISTANT_HOME"
#: the checkout (or installed tree): model/bundled/ lies under it, read-only for the app
ROOT = Path(__file__).resolve().parent.parent
#: the demo photos and the icon: in a checkout assistant/assets is a link to the top-level
#: assets/, in an installed package (pip, pipx) the files themselves (package data)
ASSETS_DIR = Path(__file__).resolve().parent / "assets"
BUNDLED_DIR = ROOT / "model" / "bundled"

_dirs = PlatformDirs(APP_NAME, appauthor=False)


def _base(kind: str) -> Path:
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override) / kind
    return Path({"config": _dirs.user_config_dir, "data": _dirs.user_data_dir,
                 "log": _dirs.user_log_dir, "cache": _dirs.user_cache_dir}[kind])


def config_dir() -> Path:
    return _ensure(_base("config"))


def data_dir() -> Path:
    return _ensure(_base("data"))


def log_dir() -> Path:
    return _ensure(_base("log"))


def cache_dir() -> Path:
    return _ensure(_base("cache"))


def models_dir() -> Path:
    """User-trained model versions (maintainer mode)."""
    return _ensure(data_dir() / "models")


def settings_file() -> Path:
    return config_dir() / "settings.json"


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
