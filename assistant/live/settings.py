"""The user's settings, remembered between runs in settings.json (written atomically).

A missing, damaged or hand-edited file never stops the app: whatever cannot be read falls
back to its default, with a warning in the log. A file that cannot be read at all is never
written over: it is kept aside as settings.json.damaged-<time> first (the user is told where).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from assistant import paths
from assistant.catalog.languages import LANGUAGES
from assistant.files import atomic_write_text
from assistant.live.announcer import AnnouncerSettings

log = logging.getLogger(__name__)

RATE_RANGE = (80, 400)      # words per minute that espeak-ng speaks intelligibly
VOLUME_RANGE = (0.0, 1.0)


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
    barcodes: bool = True              # read barcodes in view and say them
    barcode_ticks: bool = True         # tick while a barcode is in view but not yet readable
    model_path: str | None = None      # None: the active model
    shortcuts: dict[str, str] = field(default_factory=dict)  # command id -> key sequence

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read settings; a missing or damaged file gives defaults and a logged warning."""
        return cls.load_checked(path)[0]

    @classmethod
    def load_checked(cls, path: Path | None = None) -> tuple[Settings, str | None, Path | None]:
        """(settings, why the saved ones could not be used or None, where the damaged file was
        kept aside or None): a missing file is no problem; a damaged one is moved aside (so
        that saving the defaults loses nothing) and gives defaults, as does a settings folder
        that cannot be made."""
        try:
            path = Path(path) if path else paths.settings_file()
            if not path.exists():
                return cls(), None, None
            data = _read(path)
        except OSError as exc:
            problem = f"{exc.filename or path}: {exc.strerror or exc}"
        except ValueError as exc:
            problem = f"{path}: {exc}"
        else:
            return cls.from_dict(data), None, None
        kept = keep_aside(path) if path is not None and path.is_file() else None
        log.warning("cannot read the settings (%s); using defaults%s", problem,
                    f"; the file is kept as {kept}" if kept else "")
        return cls(), problem, kept

    @classmethod
    def from_dict(cls, data: dict) -> Settings:
        """Settings from a dict; each bad or unknown value is dropped with a warning."""
        out = cls()
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            try:
                setattr(out, f.name, _check(f.name, value, getattr(out, f.name)))
            except (TypeError, ValueError) as exc:
                log.warning("settings: ignoring %s=%r (%s)", f.name, value, exc)
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            log.warning("settings: ignoring unknown keys %s", sorted(unknown))
        return out

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: Path | None = None) -> Path:
        """Write atomically (assistant.files.atomic_write) to assistant.paths.settings_file()."""
        path = Path(path) if path else paths.settings_file()
        if path.is_file():
            try:
                _read(path)
            except (OSError, ValueError):  # damaged since it was read: keep it, or do not save
                if keep_aside(path) is None:
                    raise OSError(f"{path} cannot be read nor kept aside; not saving over it") from None
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, ensure_ascii=False))
        return path


def _read(path: Path) -> dict:
    """The saved dict; OSError, or ValueError for anything that is not a JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def keep_aside(path: Path) -> Path | None:
    """Rename a file that cannot be read to NAME.damaged-<time> beside it (never over another
    kept one); None when even that fails (then nothing may be written over it)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(100):
        kept = path.with_name(f"{path.name}.damaged-{stamp}" + (f"-{n}" if n else ""))
        if kept.exists():
            continue
        try:
            path.rename(kept)
        except OSError as exc:
            log.warning("cannot keep %s aside: %s", path, exc)
            return None
        return kept
    return None


def _check(name: str, value, default):
    """The value converted to the field's type, or ValueError/TypeError."""
    if name == "language":
        if value not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}")
        return value
    if name in ("voice", "model_path"):
        if value is not None and not isinstance(value, str):
            raise TypeError("expected text or null")
        if value:
            _check_text(value)
        return value or None
    if name == "camera":
        if value is not None and not isinstance(value, str | int) or isinstance(value, bool):
            raise TypeError("expected a camera index, a path or null")
        return value
    if name == "rate":
        return int(_in_range(float(value), RATE_RANGE))
    if name == "volume":
        return _in_range(float(value), VOLUME_RANGE)
    if name == "hold":
        return _in_range(float(value), (0.1, 60.0))
    if name in ("continuous", "barcodes", "barcode_ticks"):
        if not isinstance(value, bool):
            raise TypeError("expected true or false")
        return value
    if name == "shortcuts":
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in value.items()):
            raise TypeError("expected a mapping of command id to key sequence")
        for text in (*value, *value.values()):
            _check_text(text)
        return dict(value)
    if name == "announcer":
        if not isinstance(value, dict):
            raise TypeError("expected a mapping")
        return announcer_from_dict(value)
    return value


def announcer_from_dict(data: dict) -> AnnouncerSettings:
    """AnnouncerSettings from a dict, keeping the default for each bad or unknown value."""
    out = AnnouncerSettings()
    for f in dataclasses.fields(AnnouncerSettings):
        if f.name not in data:
            continue
        default = getattr(out, f.name)
        if isinstance(default, bool):  # a switch: only true or false
            if isinstance(data[f.name], bool):
                setattr(out, f.name, data[f.name])
            else:
                log.warning("settings: ignoring announcer.%s=%r (must be true or false)", f.name, data[f.name])
            continue
        try:
            value = type(default)(data[f.name])
            if isinstance(data[f.name], bool) or value < 0:
                raise ValueError("must be a non-negative number")
            setattr(out, f.name, value)
        except (TypeError, ValueError) as exc:
            log.warning("settings: ignoring announcer.%s=%r (%s)", f.name, data[f.name], exc)
    try:
        out.validate()
    except ValueError as exc:
        log.warning("settings: announcer thresholds %s; using defaults", exc)
        return AnnouncerSettings()
    return out


def _check_text(text: str) -> None:
    """Text that can be written back (a lone surrogate cannot be encoded) and has no control
    characters."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not valid text") from None
    if not text.isprintable():
        raise ValueError("holds control characters")


def _in_range(value: float, bounds: tuple[float, float]) -> float:
    if value != value:  # NaN
        raise ValueError("not a number")
    return min(max(value, bounds[0]), bounds[1])


def load_checked(path: Path | None = None) -> tuple[Settings, str | None, Path | None]:
    """The saved settings, why they could not be used (None when they could), and where the
    damaged file was kept aside (None when it was not)."""
    return Settings.load_checked(path)


def load(path: Path | None = None) -> Settings:
    """The saved settings (defaults where missing or damaged)."""
    return Settings.load(path)
