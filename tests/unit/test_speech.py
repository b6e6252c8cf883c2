"""The speech queue: priorities, replacing stale products, stop, repeat, failing engines."""
from __future__ import annotations

import stat
import sys
import threading

import pytest

from assistant.live.speech import (
    EspeakEngine,
    Priority,
    RecordingEngine,
    SilentEngine,
    Speaker,
    SpeechEngine,
    SpeechError,
    make_engine,
)
from tests.helpers import unavailable


@pytest.fixture
def speakers():
    made = []

    def make(engine, **kw):
        s = Speaker(engine, **kw)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


class HeldEngine(RecordingEngine):
    """Records like RecordingEngine; its first sentence lasts until release() (or until it is
    interrupted), so that what is queued meanwhile waits, whatever the machine's speed."""

    def __init__(self) -> None:
        super().__init__()
        self.held = threading.Event()

    def release(self) -> None:
        self.held.set()

    def speak(self, text, language, rate, volume, voice, *, priority=Priority.NORMAL, cancel=None):
        first = not self.spoken
        super().speak(text, language, rate, volume, voice, priority=priority, cancel=cancel)
        if first:
            event = self._begin(cancel)
            while not (self.held.is_set() or event.is_set()):
                event.wait(0.05)
            if event.is_set() and not self.held.is_set():
                with self._cond:
                    self.interrupted.append(text)


def test_items_are_spoken_in_order_with_language_and_priority(speakers):
    """While the first sentence is said, items of every priority queue up: NEXT goes first,
    then NORMAL ones in the order given, each in its own language."""
    engine = HeldEngine()
    s = speakers(engine, language="es")
    s.say("hola")
    assert engine.wait_for(1)
    s.say("leche")
    s.say("tomato sauce", "en")
    s.say("cámara perdida", priority=Priority.NEXT)
    s.say("pan", kind="hint")
    s.say("battery low", "en", Priority.NEXT)
    assert [i.text for i in s.pending()] == ["cámara perdida", "battery low", "leche",
                                             "tomato sauce", "pan"]
    engine.release()
    assert s.wait_idle(10)
    assert engine.spoken == [("hola", "es", Priority.NORMAL),
                             ("cámara perdida", "es", Priority.NEXT),
                             ("battery low", "en", Priority.NEXT),
                             ("leche", "es", Priority.NORMAL),
                             ("tomato sauce", "en", Priority.NORMAL),
                             ("pan", "es", Priority.NORMAL)]
    assert engine.interrupted == []


def test_now_interrupts_what_is_speaking_and_drops_what_waits(speakers):
    """The first sentence never ends by itself: only the NOW item's interruption lets the
    second one start."""
    engine = HeldEngine()
    s = speakers(engine)
    s.say("a long sentence")
    assert engine.wait_for(1)
    s.say("waiting one")
    s.say("waiting two", kind="hint")
    s.say("stop that", priority=Priority.NOW)
    assert s.wait_idle(30)
    assert engine.interrupted == ["a long sentence"]
    assert engine.texts == ["a long sentence", "stop that"]


def test_next_goes_before_normal_items(speakers):
    engine = HeldEngine()
    s = speakers(engine)
    s.say("first")
    assert engine.wait_for(1)
    s.say("hint", kind="hint")
    s.say("camera lost", priority=Priority.NEXT)
    engine.release()
    assert s.wait_idle(10)
    assert engine.texts == ["first", "camera lost", "hint"]


def test_a_newer_product_replaces_an_older_unspoken_one(speakers):
    engine = HeldEngine()
    s = speakers(engine)
    s.say("ready", kind="status")
    assert engine.wait_for(1)
    s.say("milk", kind="product")
    s.say("juice", kind="product")
    s.say("tea", kind="product")
    assert [i.text for i in s.pending()] == ["tea"]
    engine.release()
    assert s.wait_idle(10)
    assert engine.texts == ["ready", "tea"]


def test_items_with_the_same_key_replace_each_other_but_others_stay(speakers):
    engine = HeldEngine()
    s = speakers(engine)
    s.say("busy")
    assert engine.wait_for(1)
    s.say("too dark", kind="hint", key="hint")
    s.say("status", kind="status")
    s.say("too blurred", kind="hint", key="hint")
    engine.release()
    assert s.wait_idle(10)
    assert engine.texts == ["busy", "status", "too blurred"]


def test_stop_silences_and_clears(speakers):
    engine = HeldEngine()                           # "one" would never end by itself
    s = speakers(engine)
    s.say("one")
    s.say("two")
    assert engine.wait_for(1)
    s.stop()
    assert s.wait_idle(30)
    assert engine.texts == ["one"] and engine.interrupted == ["one"]
    s.say("three")                      # still works after a stop
    assert s.wait_idle(10) and engine.texts[-1] == "three"


def test_repeat_last_says_the_last_result_now_but_not_feedback(speakers):
    engine = RecordingEngine()
    s = speakers(engine)
    assert s.repeat_last() is False
    s.say("milk", kind="product")
    s.say("Louder.", kind="feedback")
    assert s.wait_idle(5)
    assert s.repeat_last() is True
    assert s.wait_idle(5)
    assert engine.spoken[-1] == ("milk", "en", Priority.NOW)


def test_rate_volume_and_voice_reach_the_engine_and_are_clamped(speakers):
    engine = RecordingEngine()
    s = speakers(engine, rate=150, volume=0.5, voice="gmw/en-us")
    s.say("hello", "en")
    s.say("hola", "es")             # an English voice must not read Spanish
    assert s.wait_idle(5)           # rate and volume apply to what is spoken next
    s.rate, s.volume = 10_000, -3
    s.say("fast")
    assert s.wait_idle(5)
    assert engine.settings == [(150, 0.5, "gmw/en-us"), (150, 0.5, None), (400, 0.0, "gmw/en-us")]


class BrokenEngine(SpeechEngine):
    name = "broken"

    def __init__(self):
        self.calls = 0

    def speak(self, text, language, rate, volume, voice, *, priority=Priority.NORMAL, cancel=None):
        self.calls += 1
        raise SpeechError("the sound card is on fire")


def test_a_broken_engine_is_reported_and_the_speaker_keeps_working(speakers):
    errors, started, spoken = [], [], []
    engine = BrokenEngine()
    s = speakers(engine, on_error=errors.append, on_start=lambda i: started.append(i.text),
                 on_spoken=lambda i: spoken.append(i.text))
    s.say("milk")
    s.say("juice")
    assert s.wait_idle(5)
    assert errors == ["the sound card is on fire"]      # reported once, not per sentence
    assert engine.calls == 1 and s.failed == "the sound card is on fire"
    assert isinstance(s.engine, SilentEngine)
    assert s.alive and started == ["milk", "juice"] and spoken == ["juice"]


def test_an_unexpected_engine_exception_also_falls_back(speakers):
    class Crashing(RecordingEngine):
        def speak(self, *a, **kw):
            raise ZeroDivisionError("bug")
    errors = []
    s = speakers(Crashing(), on_error=errors.append)
    s.say("x")
    assert s.wait_idle(5) and errors == ["bug"] and s.alive


def test_a_failing_listener_does_not_kill_the_speech_thread(speakers):
    engine = RecordingEngine()

    def boom(item):
        raise RuntimeError("listener bug")
    s = speakers(engine, on_start=boom, on_spoken=boom)
    s.say("one")
    s.say("two")
    assert s.wait_idle(5) and engine.texts == ["one", "two"] and s.alive


def test_close_ends_the_thread():
    engine = HeldEngine()
    s = Speaker(engine)
    s.say("long")
    assert engine.wait_for(1)
    s.close(timeout=30)
    assert not s.alive
    s.say("ignored")            # no exception after close


def fake_program(tmp_path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def started(marker, process: threading.Thread) -> bool:
    """Wait until a fake program has written its marker (or its caller has ended)."""
    while process.is_alive() and not marker.exists():
        process.join(0.05)
    return marker.exists()


def test_espeak_subprocess_is_killed_by_stop(tmp_path):
    """The fake espeak-ng says it started and would then run for ten minutes: only stop() ends
    speak()."""
    marker = tmp_path / "started"
    exe = fake_program(tmp_path, "espeak-ng",
                       f"import time; open({str(marker)!r}, 'w').close(); time.sleep(600)")
    engine = EspeakEngine(executable=exe)
    speaking = threading.Thread(target=engine.speak, args=("a very long text", "en", 175, 1.0, None))
    speaking.start()
    assert started(marker, speaking)
    engine.stop()
    speaking.join(60)
    assert not speaking.is_alive()


def test_espeak_without_sound_device_is_an_error_not_silence(tmp_path):
    # espeak-ng exits 0 but writes to stderr when it cannot open the sound device
    exe = fake_program(tmp_path, "espeak-ng",
                       "import sys; sys.stderr.write('ALSA lib pcm.c: Unknown PCM default\\n"
                       "error: No such file or directory\\n')")
    with pytest.raises(SpeechError, match="no sound output"):
        EspeakEngine(executable=exe).speak("milk", "en", 175, 1.0, None)


ENGLISH_WORDS = {"sound", "output", "device", "connected", "installed", "cannot", "works", "here"}


def test_a_failure_is_said_in_the_users_language_whole(speakers, tmp_path, monkeypatch):
    """Trial item 11: the Spanish speech-failure sentence carried the engine's English detail
    ('La voz no funciona: espeak-ng: no sound output (is an audio device connected?)...')."""
    from assistant.catalog import phrase
    exe = fake_program(tmp_path, "espeak-ng",
                       "import sys; sys.stderr.write('ALSA lib pcm.c: Unknown PCM default\\n"
                       "error: No such file or directory\\n')")
    errors = []
    s = speakers(EspeakEngine(executable=exe), on_error=errors.append, language="es")
    s.say("leche")
    assert s.wait_idle(30)
    said = phrase("speech_failed", "es", detail=errors[0])
    assert said == ("La voz no funciona: espeak-ng: no hay salida de sonido (¿hay altavoces o "
                    "auriculares conectados?). Los resultados se muestran en pantalla.")
    assert s.failed == errors[0]
    # the English stays for the log and an English speaker
    with pytest.raises(SpeechError, match="no sound output") as english:
        EspeakEngine(executable=exe).speak("milk", "en", 175, 1.0, None)
    assert english.value.words("es") == errors[0]
    # no engine at all: each engine's reason in Spanish too
    monkeypatch.delenv("GROCERY_ASSISTANT_SPEECH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    reason = make_engine().reason.words("es")
    assert reason.startswith("ningún motor de voz funciona en este equipo (")
    assert "espeak-ng no está instalado" in reason
    assert not ENGLISH_WORDS & set(reason.replace("(", " ").replace(")", " ").split())


def test_make_engine_names_and_environment(monkeypatch):
    monkeypatch.setenv("GROCERY_ASSISTANT_SPEECH", "silent")
    assert isinstance(make_engine(), SilentEngine)
    assert isinstance(make_engine("recording"), RecordingEngine)
    with pytest.raises(ValueError, match="unknown speech engine"):
        make_engine("klingon")
    monkeypatch.delenv("GROCERY_ASSISTANT_SPEECH")
    monkeypatch.setenv("PATH", "/nonexistent")        # no espeak-ng, no player
    assert isinstance(make_engine(), SilentEngine)


def test_pyttsx3_engine_plays_through_a_killable_player_and_stays_in_its_thread(tmp_path):
    """The player would play for ten minutes: only stop() lets the speaker fall idle."""
    from assistant.live.speech import Pyttsx3Engine
    log = tmp_path / "played.txt"
    player = fake_program(tmp_path, "player",
                          "import sys, time, wave\n"
                          "w = wave.open(sys.argv[1]); n = w.getnframes(); w.close()\n"
                          f"open({str(log)!r}, 'a').write(f'{{n}}\\n')\n"
                          "time.sleep(600)")
    try:
        engine = Pyttsx3Engine(player=[player])
    except SpeechError as exc:
        unavailable(f"pyttsx3 cannot run here: {exc}")
    errors = []
    s = Speaker(engine, on_error=errors.append)
    try:
        s.say("tomato sauce")
        while not (log.exists() and log.read_text()) and not errors:
            s.wait_idle(0.05)                         # the player has the WAV, or speech failed
        assert errors == []
        frames = int(log.read_text().split()[0])
        assert frames > 22050 * 0.3                  # real synthesised audio, > 0.3 s
        s.stop()                                      # kills the player
        assert s.wait_idle(60)
        assert errors == []
        with pytest.raises(SpeechError, match="second thread"):
            engine.speak("x", "en", 175, 1.0, None)   # from this (test) thread
    finally:
        s.close()
