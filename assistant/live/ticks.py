"""The guidance ticks: a short click, faster as a barcode gets closer and sharper (Seeing AI
does the same with its beeps), played by the system's audio player without waiting. No Qt."""
from __future__ import annotations

import logging
import subprocess
import threading
import time
import wave
from pathlib import Path

import numpy as np

from assistant import paths
from assistant.live.speech_engines import find_player

log = logging.getLogger(__name__)

#: ticks per second at the weakest and the strongest guidance
SLOWEST, FASTEST = 1.5, 8.0


def click_wav() -> Path:
    """A 25 ms 2 kHz click with a fast decay, written once to the cache."""
    path = paths.cache_dir() / "tick.wav"
    if not path.exists():
        rate = 22050
        t = np.arange(int(0.025 * rate)) / rate
        samples = (np.sin(2 * np.pi * 2000 * t) * np.exp(-t * 200) * 0.6 * 32767).astype("<i2")
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(samples.tobytes())
    return path


class Ticker:
    """guide(level 0..1) ticks at most at the rate that level asks for; silent without a
    player, or when switched off. Ticks are not speech: they never enter the speech queue,
    the history or the transcript."""

    def __init__(self, enabled: bool = True, play=None) -> None:
        self.enabled = enabled
        self._play = play
        self._last = 0.0
        self._lock = threading.Lock()
        self.ticks = 0
        self._proc: subprocess.Popen | None = None
        self._player: list[str] | None | bool = None if play is None else False

    @staticmethod
    def interval(level: float) -> float:
        level = min(max(level, 0.0), 1.0)
        return 1.0 / (SLOWEST + (FASTEST - SLOWEST) * level)

    def guide(self, level: float, now: float | None = None) -> bool:
        if not self.enabled:
            return False
        now = time.monotonic() if now is None else now
        with self._lock:
            if now - self._last < self.interval(level):
                return False
            self._last = now
            self.ticks += 1
        (self._play or self._play_click)()
        return True

    def _play_click(self) -> None:
        if self._player is None:
            self._player = find_player() or False
            if not self._player:
                log.info("no audio player: the barcode guidance ticks are silent")
        if not self._player or (self._proc is not None and self._proc.poll() is None):
            return
        try:
            self._proc = subprocess.Popen([*self._player, str(click_wav())], stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError as exc:
            log.warning("cannot play the tick: %s", exc)
            self._player = False
