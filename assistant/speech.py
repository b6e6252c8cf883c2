"""Speech in its own thread: a priority queue in front of one small engine interface.

Priority.NOW interrupts whatever is being said; a newer product replaces an older one that
has not been spoken yet. A failing engine is reported once and replaced by silence, so the
queue (and the app) keeps working.
"""
from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class Priority(enum.IntEnum):
    """Lower is more urgent."""

    NOW = 0      # a user command: interrupts and clears what is waiting
    NEXT = 1     # status (camera lost...): before normal items, no interruption
    NORMAL = 2   # products and hints


class SpeechError(Exception):
    """The speech engine failed; str() says how."""


@dataclass
class SpeechItem:
    """One queued sentence."""

    text: str
    language: str
    priority: Priority = Priority.NORMAL
    kind: str = "message"
    key: str | None = None


class SpeechEngine:
    """One voice. speak() blocks until done or stop() is called (from any thread)."""

    name = "engine"

    def speak(self, text: str, language: str, rate: int, volume: float, voice: str | None,
              *, priority: Priority = Priority.NORMAL) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        """Cut the current sentence short; thread-safe."""

    def voices(self) -> list[str]:
        return []

    def close(self) -> None:
        """Release the engine (called from the speech thread)."""


class SilentEngine(SpeechEngine):
    """Says nothing (headless runs, and the fallback after a failure)."""

    name = "silent"


class RecordingEngine(SpeechEngine):
    """Records (text, language, priority) in .spoken for tests; delay simulates talking."""

    name = "recording"


class Pyttsx3Engine(SpeechEngine):
    """pyttsx3 (espeak-ng driver on Linux), created and used only in the speech thread."""

    name = "pyttsx3"


class EspeakEngine(SpeechEngine):
    """espeak-ng as a subprocess: killable for stop(), and can write WAV files."""

    name = "espeak-ng"

    def synthesize_to_file(self, text: str, language: str, path: str | Path) -> Path:
        raise NotImplementedError


def make_engine(name: str = "auto") -> SpeechEngine:
    """"auto": pyttsx3, else espeak-ng subprocess, else silent; or one of those by name."""
    raise NotImplementedError


class Speaker:
    """The speech queue and its thread.

    on_error(message) is called when the engine fails (the Speaker then goes on silently);
    on_spoken(item) after an item was spoken (or silently passed); on_start(item) when
    speaking of an item begins.
    """

    def __init__(self, engine: SpeechEngine, on_error: Callable[[str], None] | None = None,
                 on_spoken: Callable[[SpeechItem], None] | None = None,
                 on_start: Callable[[SpeechItem], None] | None = None,
                 language: str = "en", rate: int = 175, volume: float = 1.0,
                 voice: str | None = None) -> None:
        raise NotImplementedError

    def say(self, text: str, language: str | None = None, priority: Priority = Priority.NORMAL,
            kind: str = "message", key: str | None = None) -> None:
        """Queue text; kind "product" replaces any unspoken product; equal keys replace."""
        raise NotImplementedError

    def stop(self) -> None:
        """Silence now and drop everything waiting."""
        raise NotImplementedError

    def repeat_last(self) -> bool:
        """Say the last spoken item again (NOW); False if nothing was said yet."""
        raise NotImplementedError

    def voices(self) -> list[str]:
        raise NotImplementedError

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until the queue is empty and nothing is being said."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop the thread (waits briefly); the Speaker is unusable afterwards."""
        raise NotImplementedError
