"""The user's settings, remembered between runs in settings.json (written atomically)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.announcer import AnnouncerSettings


@dataclass
class Settings:
    """Everything the window lets the user change."""

    language: str = "en"               # "en" | "es"
    voice: str | None = None
    rate: int = 175                    # words per minute
    volume: float = 1.0                # 0..1
    camera: str | int | None = None    # None: webcam 0, else the demo
    hold: float = 2.0                  # seconds each photo is held (photo-folder sources)
    announcer: AnnouncerSettings = field(default_factory=AnnouncerSettings)
    continuous: bool = True
    model_path: str | None = None      # None: the active model
    shortcuts: dict[str, str] = field(default_factory=dict)  # command id -> key sequence

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read settings; a missing or damaged file gives defaults and a logged warning."""
        raise NotImplementedError

    def save(self, path: Path | None = None) -> Path:
        """Write atomically (temp file + os.replace) to assistant.paths.settings_file()."""
        raise NotImplementedError


def load(path: Path | None = None) -> Settings:
    return Settings.load(path)
