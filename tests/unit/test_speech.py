"""The speech queue: priorities, replacing stale products, stop, repeat, failing engines."""
from __future__ import annotations

import stat
import sys
import threading
import time

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


def test_items_are_spoken_in_order_with_language_and_priority(speakers):
    engine = RecordingEngine()
    s = speakers(engine, language="es")
    s.say("leche")
    assert s.wait_idle(5)
    s.say("milk", "en", Priority.NEXT)
    assert s.wait_idle(5)
    assert engine.spoken == [("leche", "es", Priority.NORMAL), ("milk", "en", Priority.NEXT)]


def test_now_interrupts_what_is_speaking_and_drops_what_waits(speakers):
    engine = RecordingEngine(delay=5.0)
    s = speakers(engine)
    s.say("a long sentence")
    assert engine.wait_for(1)
    s.say("waiting one")
    s.say("waiting two", kind="hint")
    t0 = time.monotonic()
    s.say("stop that", priority=Priority.NOW)
    assert engine.wait_for(2, timeout=2)
    assert time.monotonic() - t0 < 1.0
    assert engine.interrupted == ["a long sentence"]
    engine.delay = 0
    engine.stop()
    assert s.wait_idle(5)
    assert engine.texts == ["a long sentence", "stop that"]


def test_next_goes_before_normal_items(speakers):
    engine = RecordingEngine(delay=0.3)
    s = speakers(engine)
    s.say("first")
    assert engine.wait_for(1)
    s.say("hint", kind="hint")
    s.say("camera lost", priority=Priority.NEXT)
    assert s.wait_idle(5)
    assert engine.texts == ["first", "camera lost", "hint"]


def test_a_newer_product_replaces_an_older_unspoken_one(speakers):
    engine = RecordingEngine(delay=0.3)
    s = speakers(engine)
    s.say("ready", kind="status")
    assert engine.wait_for(1)
    s.say("milk", kind="product")
    s.say("juice", kind="product")
    s.say("tea", kind="product")
    assert [i.text for i in s.pending()] == ["tea"]
    assert s.wait_idle(5)
    assert engine.texts == ["ready", "tea"]


def test_items_with_the_same_key_replace_each_other_but_others_stay(speakers):
    engine = RecordingEngine(delay=0.3)
    s = speakers(engine)
    s.say("busy")
    assert engine.wait_for(1)
    s.say("too dark", kind="hint", key="hint")
    s.say("status", kind="status")
    s.say("too blurred", kind="hint", key="hint")
    assert s.wait_idle(5)
    assert engine.texts == ["busy", "status", "too blurred"]


def test_stop_silences_and_clears(speakers):
    engine = RecordingEngine(delay=5.0)
    s = speakers(engine)
    s.say("one")
    s.say("two")
    assert engine.wait_for(1)
    s.stop()
    assert s.wait_idle(2)
    assert engine.texts == ["one"] and engine.interrupted == ["one"]
    engine.delay = 0
    s.say("three")                      # still works after a stop
    assert s.wait_idle(2) and engine.texts[-1] == "three"


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
    s = Speaker(RecordingEngine(delay=10))
    s.say("long")
    time.sleep(0.1)
    s.close(timeout=2)
    assert not s.alive
    s.say("ignored")            # no exception after close


def fake_program(tmp_path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_espeak_subprocess_is_killed_by_stop(tmp_path):
    exe = fake_program(tmp_path, "espeak-ng", "import time; time.sleep(30)")
    engine = EspeakEngine(executable=exe)
    threading.Timer(0.3, engine.stop).start()
    t0 = time.monotonic()
    engine.speak("a very long text", "en", 175, 1.0, None)
    assert time.monotonic() - t0 < 5


def test_espeak_without_sound_device_is_an_error_not_silence(tmp_path):
    # espeak-ng exits 0 but writes to stderr when it cannot open the sound device
    exe = fake_program(tmp_path, "espeak-ng",
                       "import sys; sys.stderr.write('ALSA lib pcm.c: Unknown PCM default\\n"
                       "error: No such file or directory\\n')")
    with pytest.raises(SpeechError, match="no sound output"):
        EspeakEngine(executable=exe).speak("milk", "en", 175, 1.0, None)


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
    from assistant.live.speech import Pyttsx3Engine
    log = tmp_path / "played.txt"
    player = fake_program(tmp_path, "player",
                          "import sys, time, wave\n"
                          "w = wave.open(sys.argv[1]); n = w.getnframes(); w.close()\n"
                          f"open({str(log)!r}, 'a').write(f'{{n}}\\n')\n"
                          "time.sleep(30)")
    try:
        engine = Pyttsx3Engine(player=[player])
    except SpeechError as exc:
        pytest.skip(f"pyttsx3 cannot run here: {exc}")
    errors = []
    s = Speaker(engine, on_error=errors.append)
    try:
        s.say("tomato sauce")
        deadline = time.monotonic() + 10
        while not (log.exists() and log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        frames = int(log.read_text().split()[0])
        assert frames > 22050 * 0.3                  # real synthesised audio, > 0.3 s
        t0 = time.monotonic()
        s.stop()                                      # kills the 30 s player
        assert s.wait_idle(5) and time.monotonic() - t0 < 3
        assert errors == []
        with pytest.raises(SpeechError, match="second thread"):
            engine.speak("x", "en", 175, 1.0, None)   # from this (test) thread
    finally:
        s.close()
