"""Speech engines behind one small interface: pyttsx3, espeak-ng, silent and recording.

speak() blocks until the sentence is over or its cancel event is set. Engines poll that
event (rather than being told "stop" once), so an interruption that arrives just before a
sentence starts still stops it.

Known pyttsx3 traps on Linux, and how this module avoids them:
* the engine is not thread-safe: Pyttsx3Engine creates it lazily, in the first thread
  that speaks (the Speaker's thread), and refuses to be used from any other;
* pyttsx3.init() hands back one cached engine per driver, and on the espeak driver the
  target file of save_to_file() stays set, so a later say() writes to that file instead
  of the speakers. We never call say() there: every sentence goes through save_to_file()
  into a fresh temp WAV that we play with a player subprocess, which we can also kill
  (pyttsx3 2.99 itself plays through os.system("aplay"), which nothing can interrupt).
"""
from __future__ import annotations

import contextlib
import enum
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from assistant.catalog import phrase
from assistant.errors import UserError

log = logging.getLogger(__name__)

ENGINE_ENV = "GROCERY_ASSISTANT_SPEECH"    # force an engine: pyttsx3, espeak, silent
PLAYERS = (["pw-play"], ["paplay"], ["aplay", "-q"])
WAV_HEADER = 44


class Priority(enum.IntEnum):
    """Lower is more urgent."""

    NOW = 0      # a user command: interrupts and clears what is waiting
    NEXT = 1     # status (camera lost...): before normal items, no interruption
    NORMAL = 2   # products and hints


class SpeechError(UserError):
    """The speech engine failed; str() says how in English (for the log), words(language) in
    the user's language: raised with a catalogue id (speech_err_*), the engine's own output
    (stderr, an exception's text) goes in as a field, as it is."""

    def __init__(self, *args: object, message_id: str | None = None, **fields: object) -> None:
        super().__init__(*args, message_id=message_id, **fields)
        if message_id and not args:
            self.args = (self.words("en"),)

    def words(self, language: str) -> str:
        if not self.message_id:
            return str(self)
        # a field of several failures (one per engine tried) is said in the same language
        fields = {k: "; ".join(e.words(language) for e in v) if isinstance(v, tuple) else v
                  for k, v in self.fields.items()}
        return phrase(self.message_id, language, **fields)


@dataclass
class SpeechItem:
    """One queued sentence."""

    text: str
    language: str
    priority: Priority = Priority.NORMAL
    kind: str = "message"
    key: str | None = None


class SpeechEngine:
    """One voice. speak() blocks until done, cancelled, or stop() is called (any thread)."""

    name = "engine"
    _active: threading.Event | None = None

    def speak(self, text: str, language: str, rate: int, volume: float, voice: str | None,
              *, priority: Priority = Priority.NORMAL,
              cancel: threading.Event | None = None) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        """Cut the current sentence short; thread-safe."""
        if self._active is not None:
            self._active.set()

    def voices(self, language: str | None = None) -> list[str]:
        return []

    def close(self) -> None:
        """Release the engine (called from the speech thread)."""

    def _begin(self, cancel: threading.Event | None) -> threading.Event:
        event = cancel if cancel is not None else threading.Event()
        self._active = event
        return event


class SilentEngine(SpeechEngine):
    """Says nothing (headless runs, and the fallback after a failure)."""

    name = "silent"

    def speak(self, text, language, rate, volume, voice, *, priority=Priority.NORMAL,
              cancel=None) -> None:
        return None


class RecordingEngine(SpeechEngine):
    """Records (text, language, priority) in .spoken for tests; delay simulates talking.

    .interrupted lists the texts cut short; .settings the (rate, volume, voice) of each.
    """

    name = "recording"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.spoken: list[tuple[str, str, Priority]] = []
        self.settings: list[tuple[int, float, str | None]] = []
        self.interrupted: list[str] = []
        self._cond = threading.Condition()

    def speak(self, text, language, rate, volume, voice, *, priority=Priority.NORMAL,
              cancel=None) -> None:
        event = self._begin(cancel)
        with self._cond:
            self.spoken.append((text, language, Priority(priority)))
            self.settings.append((rate, volume, voice))
            self._cond.notify_all()
        if self.delay and event.wait(self.delay):
            with self._cond:
                self.interrupted.append(text)

    @property
    def texts(self) -> list[str]:
        return [text for text, _, _ in self.spoken]

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least count sentences were started."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.spoken) >= count, timeout)


def espeak_voice(language: str, voice: str | None) -> str:
    """An espeak-ng voice name: the voice without its family folder (roa/es -> es; the
    folder form gives silence through the library), else the language."""
    return (voice or language).rsplit("/", 1)[-1]


def espeak_executable() -> str | None:
    return shutil.which("espeak-ng") or shutil.which("espeak")


def espeak_voices(language: str | None = None) -> list[str]:
    """Voices espeak-ng offers (for language), mbrola voices excluded (they need mbrola)."""
    exe = espeak_executable()
    if exe is None:
        return []
    arg = f"--voices={language}" if language else "--voices"
    try:
        out = subprocess.run([exe, arg], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("cannot list espeak-ng voices: %s", exc)
        return []
    names = []
    for line in out.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 5 and not cols[4].startswith("mb/"):
            names.append(cols[4].rsplit("/", 1)[-1])
    return names


def find_player() -> list[str] | None:
    """The first WAV player command on PATH (PipeWire, PulseAudio, ALSA)."""
    for cmd in PLAYERS:
        if shutil.which(cmd[0]):
            return list(cmd)
    return None


def run_killable(cmd: list[str], cancel: threading.Event, timeout: float, stdin: str | None = None,
                 what: str = "") -> tuple[int | None, str]:
    """Run cmd until it ends, cancel is set (then kill it; rc None) or timeout (SpeechError)."""
    what = what or cmd[0]
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError as exc:
        raise SpeechError(message_id="speech_err_cannot_start", engine=what,
                          detail=exc.strerror or str(exc)) from exc
    if stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.write(stdin.encode("utf-8"))
            proc.stdin.close()
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if cancel.wait(0.01):
            proc.kill()
            proc.wait()
            proc.stderr.close()
            return None, ""
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            proc.stderr.close()
            raise SpeechError(message_id="speech_err_timeout", engine=what, seconds=f"{timeout:.0f}")
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.stderr.close()
    return proc.returncode, err


def _max_seconds(text: str, rate: int) -> float:
    # generous: twice the spoken length at this rate, plus start-up
    return 5.0 + 2.0 * 60.0 * max(1, len(text.split())) / max(rate, 60)


def _sound_error(what: str, stderr: str, rc: int | None, path: Path | None = None) -> SpeechError:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    detail = lines[-1] if lines else f"exit status {rc}"
    log.warning("%s failed (exit status %s): %s", what, rc, " | ".join(lines[-3:]))
    if path is not None:
        return SpeechError(message_id="speech_err_write", engine=what, path=str(path), detail=detail)
    if any(word in stderr for word in ("ALSA", "No such file", "Connection refused", "pulse")):
        # the sound system's own words are in the log; the user hears what to do
        return SpeechError(message_id="speech_err_no_sound", engine=what)
    return SpeechError(message_id="speech_err_failed", engine=what, detail=detail)


class EspeakEngine(SpeechEngine):
    """espeak-ng as a subprocess: killable for stop(), and can write WAV files."""

    name = "espeak-ng"

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or espeak_executable()
        if self.executable is None:
            raise SpeechError(message_id="speech_err_no_espeak")

    def _cmd(self, language: str, rate: int, volume: float, voice: str | None) -> list[str]:
        return [self.executable, "-v", espeak_voice(language, voice), "-s", str(int(rate)),
                "-a", str(int(round(volume * 100))), "--stdin"]

    def speak(self, text, language, rate, volume, voice, *, priority=Priority.NORMAL,
              cancel=None) -> None:
        event = self._begin(cancel)
        rc, err = run_killable(self._cmd(language, rate, volume, voice), event,
                               _max_seconds(text, rate), stdin=text, what="espeak-ng")
        # espeak-ng exits 0 even when it could not open the sound device: read stderr
        if rc is not None and (rc != 0 or "error" in err.lower()):
            raise _sound_error("espeak-ng", err, rc)

    def synthesize_to_file(self, text: str, language: str, path: str | Path, rate: int = 175,
                           volume: float = 1.0, voice: str | None = None) -> Path:
        """Write the spoken text as a WAV file (no sound device needed)."""
        path = Path(path)
        cmd = self._cmd(language, rate, volume, voice)
        cmd[-1:-1] = ["-w", str(path)]
        rc, err = run_killable(cmd, threading.Event(), _max_seconds(text, rate), stdin=text,
                               what="espeak-ng")
        if rc != 0 or not path.is_file() or path.stat().st_size <= WAV_HEADER:
            raise _sound_error("espeak-ng", err, rc, path)
        return path

    def voices(self, language: str | None = None) -> list[str]:
        return espeak_voices(language)


class Pyttsx3Engine(SpeechEngine):
    """pyttsx3 (espeak-ng driver on Linux), created and used only in the speech thread.

    On Linux each sentence is synthesised with save_to_file() and played by `player`
    (default: pw-play, paplay or aplay, whichever exists), which stop() kills.
    """

    name = "pyttsx3"

    def __init__(self, player: list[str] | None = None) -> None:
        try:
            import pyttsx3  # noqa: F401
            if sys.platform.startswith("linux"):
                from pyttsx3.drivers import _espeak  # noqa: F401  (loads libespeak-ng)
        except Exception as exc:  # RuntimeError when libespeak-ng is missing
            raise SpeechError(message_id="speech_err_pyttsx3", detail=str(exc)) from exc
        self.linux = sys.platform.startswith("linux")
        self.player = player or (find_player() if self.linux else [])
        if self.linux and not self.player:
            raise SpeechError(message_id="speech_err_no_player")
        self._engine = None
        self._thread: int | None = None

    def _get_engine(self):
        me = threading.get_ident()
        if self._engine is None:
            import pyttsx3
            try:
                self._engine = pyttsx3.init()
            except Exception as exc:
                raise SpeechError(message_id="speech_err_pyttsx3_start", detail=str(exc)) from exc
            _quiet_espeak_driver()
            self._thread = me
        elif self._thread != me:
            raise SpeechError(message_id="speech_err_second_thread")
        return self._engine

    def speak(self, text, language, rate, volume, voice, *, priority=Priority.NORMAL,
              cancel=None) -> None:
        event = self._begin(cancel)
        engine = self._get_engine()
        try:
            engine.setProperty("voice", espeak_voice(language, voice) if self.linux else voice)
            engine.setProperty("rate", int(rate))
            engine.setProperty("volume", float(volume))
        except (ValueError, KeyError) as exc:
            raise SpeechError(message_id="speech_err_voice_settings", detail=str(exc)) from exc
        if not self.linux:
            engine.say(text)        # never mixed with save_to_file on this instance
            engine.runAndWait()
            return
        fd, name = tempfile.mkstemp(prefix="speech-", suffix=".wav")
        os.close(fd)
        wav = Path(name)
        try:
            engine.save_to_file(text, str(wav))
            engine.runAndWait()
            if event.is_set():
                return
            if wav.stat().st_size <= WAV_HEADER:
                raise SpeechError(message_id="speech_err_silent_voice",
                                  voice=espeak_voice(language, voice))
            rc, err = run_killable([*self.player, str(wav)], event, _max_seconds(text, rate),
                                   what=self.player[0])
            if rc is not None and rc != 0:
                raise _sound_error(self.player[0], err, rc)
        finally:
            wav.unlink(missing_ok=True)

    def voices(self, language: str | None = None) -> list[str]:
        return espeak_voices(language) if self.linux else []


def _quiet_espeak_driver() -> None:
    """pyttsx3's espeak driver prints "Audio saved to /tmp/speech-....wav" for every sentence,
    from its synthesis callback (whatever thread that runs on): its module's print is silenced,
    and only its (redirecting sys.stdout would swallow every thread's output meanwhile)."""
    try:
        from pyttsx3.drivers import espeak as driver
    except Exception:  # another platform's driver
        return
    driver.print = lambda *args, **kwargs: None


def make_engine(name: str = "auto") -> SpeechEngine:
    """"auto": pyttsx3, else espeak-ng subprocess, else silent; or one of those by name.

    The environment variable GROCERY_ASSISTANT_SPEECH overrides "auto" (e.g. silent).
    A named engine that cannot work raises SpeechError; "auto" logs why and moves on.
    """
    if name == "auto":
        name = os.environ.get(ENGINE_ENV, "auto") or "auto"
    makers = {"pyttsx3": Pyttsx3Engine, "espeak": EspeakEngine, "espeak-ng": EspeakEngine,
              "silent": SilentEngine, "recording": RecordingEngine}
    if name != "auto":
        if name not in makers:
            raise ValueError(f"unknown speech engine {name!r}; choose one of "
                             f"auto, {', '.join(makers)}")
        return makers[name]()
    reasons = []
    for maker in (Pyttsx3Engine, EspeakEngine):
        try:
            return maker()
        except SpeechError as exc:
            log.info("speech: %s unavailable (%s)", maker.name, exc)
            reasons.append(exc)
    log.warning("speech: no engine works here; the assistant will only show its results")
    silent = SilentEngine()
    #: why there is no voice (a SpeechError): the app says it once the window is up
    silent.reason = SpeechError(message_id="speech_err_none_works", reasons=tuple(reasons))
    return silent
