"""espeak-ng really speaks: a product name from the model becomes non-silent audio in a WAV file."""
from __future__ import annotations

import shutil
import stat
import sys
import wave

import numpy as np
import pytest

from assistant.catalog import product_name
from assistant.inference.checkpoint import load_checkpoint
from assistant.live.speech import EspeakEngine, Pyttsx3Engine, Speaker, SpeechError
from tests.helpers import unavailable


@pytest.fixture(autouse=True)
def espeak_ng():
    if shutil.which("espeak-ng") is None:
        unavailable("espeak-ng is not installed (apt-get install espeak-ng)")


def read_wav(path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    return samples / 32768.0, rate


def assert_speech_like(samples: np.ndarray, rate: int, min_s: float, max_s: float) -> float:
    duration = len(samples) / rate
    assert min_s <= duration <= max_s, f"{duration:.2f} s of audio"
    frames = samples[: len(samples) // 441 * 441].reshape(-1, 441)     # 20 ms at 22.05 kHz
    loud = np.sqrt((frames ** 2).mean(axis=1)) > 0.02
    assert np.sqrt((samples ** 2).mean()) > 0.01                       # not silence
    assert 0.25 < loud.mean() < 0.98                                   # words and pauses
    return duration


@pytest.mark.parametrize("language, expected", [("en", "tomato sauce"), ("es", "salsa de tomate")])
def test_espeak_speaks_a_product_name_to_a_wav_file(tiny_checkpoint, tmp_path, language, expected):
    name = product_name(load_checkpoint(tiny_checkpoint), "red_sauce", language)
    assert name == expected
    wav = EspeakEngine().synthesize_to_file(name, language, tmp_path / f"{language}.wav")
    samples, rate = read_wav(wav)
    assert rate in (16000, 22050, 24000)
    assert_speech_like(samples, rate, 0.4, 4.0)


def test_speech_rate_changes_the_length(tmp_path):
    engine = EspeakEngine()
    slow, rate = read_wav(engine.synthesize_to_file("chocolate cereal", "en", tmp_path / "s.wav", rate=110))
    fast, _ = read_wav(engine.synthesize_to_file("chocolate cereal", "en", tmp_path / "f.wav", rate=330))
    assert len(fast) < 0.7 * len(slow)


def test_an_unknown_voice_is_a_clear_error(tmp_path):
    with pytest.raises(SpeechError, match="voice"):
        EspeakEngine().synthesize_to_file("milk", "xx-nope", tmp_path / "x.wav")


def test_pyttsx3_on_espeak_ng_synthesises_the_name_it_is_asked_for(tmp_path, capfd):
    """Through the Speaker thread, as the app uses it; the 'player' keeps a copy of the WAV.
    Nothing reaches the terminal (pyttsx3's driver prints "Audio saved to ..." otherwise)."""
    copy = tmp_path / "played.wav"
    player = tmp_path / "player"
    player.write_text(f"#!{sys.executable}\nimport shutil, sys\nshutil.copy(sys.argv[1], {str(copy)!r})\n")
    player.chmod(player.stat().st_mode | stat.S_IEXEC)
    try:
        engine = Pyttsx3Engine(player=[str(player)])
    except SpeechError as exc:
        unavailable(f"pyttsx3 cannot use espeak-ng here: {exc}")
    errors = []
    speaker = Speaker(engine, on_error=errors.append)
    try:
        speaker.say("salsa de tomate", "es")
        assert speaker.wait_idle(20)
    finally:
        speaker.close()
    assert errors == []
    samples, rate = read_wav(copy)
    assert_speech_like(samples, rate, 0.4, 4.0)
    out, _ = capfd.readouterr()
    assert "Audio saved" not in out
