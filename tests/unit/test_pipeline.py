"""The whole pipeline without Qt, camera or audio: photos in, recorded speech and a transcript out."""
from __future__ import annotations

import datetime as dt
import threading

import numpy as np
import pytest
import torch

from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
from assistant.inference.classifier import Classifier
from assistant.live.announcer import Announcer
from assistant.live.camera import PhotoFolderSource
from assistant.live.pipeline import Assistant
from assistant.live.settings import Settings
from assistant.live.speech import Priority, RecordingEngine, Speaker, SpeechEngine, SpeechError
from assistant.live.transcript import Transcript
from tests.unit.pipeline_fakes import (
    FAST,
    ColourClassifier,
    Events,
    make,
    run_to_end,
    textured,
    wait_until,
)


def fitted_checkpoint(tiny_checkpoint, photo_dir, tmp_path):
    """The tiny random ResNet-18 with its head trained on the 3 synthetic products."""
    from assistant.inference.architectures import feature_extractor
    from assistant.inference.vision import load_image
    clf = Classifier(tiny_checkpoint, device="cpu", bf16=False)
    pictures, labels = [], []
    for index, cid in enumerate(clf.class_ids):
        for path in sorted((photo_dir / cid).glob("*.jpg"))[:5]:
            pictures.append(load_image(path))
            labels.append(index)
    with torch.no_grad():
        x = feature_extractor(clf.model, "resnet18")(clf.preprocessing.batch(pictures))
    torch.manual_seed(0)
    head = torch.nn.Linear(x.shape[1], len(clf.class_ids))
    optimiser = torch.optim.Adam(head.parameters(), lr=0.05)
    y = torch.tensor(labels)
    for _ in range(150):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(head(x), y).backward()
        optimiser.step()
    state = dict(clf.model.state_dict())
    state["fc.weight"], state["fc.bias"] = head.weight.detach(), head.bias.detach()
    return save_checkpoint(tmp_path / "fitted.safetensors", state, clf.checkpoint.meta, half=False)


def one_photo_each(photo_dir, tmp_path):
    folder = tmp_path / "shelf"
    folder.mkdir()
    for n, cid in enumerate(["green_tea", "red_sauce", "blue_milk"]):
        (folder / f"{n}_{cid}.jpg").write_bytes((photo_dir / cid / "03.jpg").read_bytes())
    return folder


def test_photo_folder_to_spoken_product_names_and_transcript(tiny_checkpoint, photo_dir, tmp_path):
    language, names = "en", ["green tea", "tomato sauce", "blue milk"]
    classifier = Classifier(fitted_checkpoint(tiny_checkpoint, photo_dir, tmp_path))
    source = PhotoFolderSource(one_photo_each(photo_dir, tmp_path), hold_seconds=0.8, fps=20,
                               gap_seconds=0.6)
    engine = RecordingEngine()
    speaker = Speaker(engine, language=language)
    events = Events()
    transcript = Transcript(tmp_path / "out" / "transcript.tsv")
    assistant = Assistant(classifier, source, speaker, Announcer(FAST),
                          Settings(language=language), on_event=events, transcript=transcript)
    run_to_end(assistant, speaker)
    transcript.close()
    speaker.close()

    products = [(text, lang) for text, lang, prio in engine.spoken if prio == Priority.NORMAL
                and text != "Ready. Hold a product in front of the camera."]
    assert products == [(name, language) for name in names]
    ids = [ident for _, ident, _ in assistant.history]
    # everything said is recorded, "Ready." too (it comes with the first classified photo)
    assert ids == ["ready", "green_tea", "red_sauce", "blue_milk", "photos_ended"]
    assert assistant.history[-1][2] == ("No more photos in the folder." if language == "en"
                                        else "No hay más fotos en la carpeta.")
    lines = (tmp_path / "out" / "transcript.tsv").read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t") for line in lines]
    assert [row[2:] for row in rows] == [[i, w] for _, i, w in assistant.history]
    # each line names the photo in view: products their own photo, the end no photo
    assert [row[1] for row in rows] == ["0_green_tea.jpg", "0_green_tea.jpg", "1_red_sauce.jpg",
                                        "2_blue_milk.jpg", ""]
    stamps = [dt.datetime.fromisoformat(line.split("\t")[0]) for line in lines]
    assert stamps == sorted(stamps) and all(s.tzinfo is not None for s in stamps)
    assert len(events.of("ready")) == 1 and events.of("ready")[0]["seconds"] < 10
    assert [u["id"] for u in events.of("utterance")] == ids[1:4]
    assert events.of("frame") and events.of("prediction")
    assert [s["status"] for s in events.of("status")] == ["source_ended"]


def test_identify_now_answers_even_with_continuous_mode_off(tiny_checkpoint):
    held = threading.Event()  # the video waits here until "identify" was answered: however slow
    frames = [textured("red")] * 20 + [held] + [textured("red")] * 20  # the machine, it cannot end first
    assistant, speaker, engine, _ = make(tiny_checkpoint, frames, continuous=False)
    assistant.start()
    try:
        assert wait_until(lambda: assistant.frames_classified >= 10)
        assert engine.spoken == []                      # continuous mode is off
        assistant.identify_now()
        assert engine.wait_for(1)
        assert engine.spoken == [("tomato sauce", "en", Priority.NOW)]
        held.set()
        assert wait_until(lambda: assistant.source_ended) and speaker.wait_idle(5)
        assert engine.texts[-1] == "End of the video."
        assistant.identify_now()                        # the source ended: the last picture
        assert engine.wait_for(3)
        assert engine.texts[-1] == "tomato sauce"
        assistant.repeat()
        assert engine.wait_for(4) and engine.spoken[-1] == ("tomato sauce", "en", Priority.NOW)
    finally:
        assistant.stop()
        speaker.close()


def test_a_camera_lost_mid_stream_is_said_and_recognition_goes_on(tiny_checkpoint):
    from assistant.live.camera import CameraError
    frames = [textured("green")] * 20 + [CameraError("camera 0 stopped sending pictures")] + \
        [textured("blue")] * 40
    assistant, speaker, engine, events = make(tiny_checkpoint, frames)
    run_to_end(assistant, speaker)
    speaker.close()
    statuses = [s["status"] for s in events.of("status")]
    assert statuses == ["camera_disconnected", "camera_reconnected", "source_ended"]
    assert "camera 0 stopped" in events.of("status")[0]["detail"]
    assert engine.texts == ["green tea", "Camera disconnected. Trying again.",
                            "Camera connected again.", "blue milk", "End of the video."]


class DeadEngine(SpeechEngine):
    def speak(self, *args, **kwargs):
        raise SpeechError("no sound output (is an audio device connected?)")


def test_a_broken_speech_engine_is_shown_and_recognition_goes_on(tiny_checkpoint):
    frames = [textured("green")] * 20 + [textured("red")] * 20
    assistant, speaker, _, events = make(tiny_checkpoint, frames, engine=DeadEngine())
    run_to_end(assistant, speaker)
    speaker.close()
    failed = [s for s in events.of("status") if s["status"] == "speech_failed"]
    assert len(failed) == 1 and "audio device" in failed[0]["words"]
    assert [i for _, i, _ in assistant.history if i in ("green_tea", "red_sauce")] == \
        ["green_tea", "red_sauce"]


def test_a_worker_error_is_reported_once_and_the_worker_survives(tiny_checkpoint):
    classifier = ColourClassifier(load_checkpoint(tiny_checkpoint), fail_on={3, 4, 5})
    assistant, speaker, engine, events = make(tiny_checkpoint, [textured("blue")] * 150,
                                              classifier=classifier)
    run_to_end(assistant, speaker)
    speaker.close()
    failures = [s for s in events.of("status") if s["status"] == "worker_failed"]
    assert len(failures) == 1 and "model exploded" in failures[0]["detail"]
    assert "blue milk" in engine.texts and assistant.frames_classified > 5


def test_only_the_newest_frame_is_classified(tiny_checkpoint):
    frames = [textured("green", marker=i) for i in range(1, 200)]
    classifier = ColourClassifier(load_checkpoint(tiny_checkpoint), delay=0.1)
    assistant, speaker, _, _ = make(tiny_checkpoint, frames, classifier=classifier, fps=100)
    run_to_end(assistant, speaker)
    speaker.close()
    seen = classifier.seen
    assert 3 <= len(seen) < 100              # stale frames were skipped, not queued
    assert seen == sorted(seen) and max(np.diff(seen)) > 3


def test_language_switch_names_products_in_spanish(tiny_checkpoint):
    frames = [textured("red")] * 30 + [textured("green")] * 30
    assistant, speaker, engine, _ = make(tiny_checkpoint, frames)
    assistant.set_language("es")
    words = assistant.say_message("continuous_on")
    assert speaker.wait_idle(5)
    assert words == "Modo continuo activado." and engine.spoken[-1][1:] == ("es", Priority.NOW)
    # everything said is recorded, command feedback too
    assert [(i, w) for _, i, w in assistant.history] == [("continuous_on", words)]
    run_to_end(assistant, speaker)
    speaker.close()
    assert engine.spoken[1:] == [("salsa de tomate", "es", Priority.NORMAL),
                                 ("green tea", "es", Priority.NORMAL),   # no Spanish name given
                                 ("Fin del vídeo.", "es", Priority.NEXT)]
    with pytest.raises(ValueError, match="language"):
        assistant.set_language("fr")
    speaker.close()


def test_a_crash_of_the_worker_loop_itself_is_reported(tiny_checkpoint, monkeypatch):
    assistant, speaker, engine, events = make(tiny_checkpoint, [textured("red")] * 500)

    def broken_wait(self, after_seq, timeout):
        raise OSError("the frame buffer vanished")
    monkeypatch.setattr("assistant.live.grabber.FrameGrabber.wait_new", broken_wait)
    assistant.start()
    try:
        assert wait_until(lambda: events.of("status"), 10)
        assert speaker.wait_idle(5)
    finally:
        assistant.stop()
        speaker.close()
    status = events.of("status")[0]
    assert status["status"] == "worker_failed" and "frame buffer vanished" in status["detail"]
    assert engine.texts == ["Recognition stopped because of an error: OSError: the frame buffer "
                            "vanished."]


def test_two_photos_of_the_same_product_in_a_row_are_said_twice(tiny_checkpoint, tmp_path):
    """A folder has no gap between photos: each photo is a new appearance of its product."""
    from PIL import Image

    from assistant.live.camera import PhotoFolderSource
    from tests.helpers import make_photo
    folder = tmp_path / "shelf"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(make_photo((200, 30, 30), seed=i)).save(folder / f"{i}.jpg")
    engine = RecordingEngine()
    speaker = Speaker(engine)
    classifier = Classifier(tiny_checkpoint, device="cpu")
    source = PhotoFolderSource(folder, hold_seconds=1.5)
    source.open()
    assistant = Assistant(classifier, source, speaker, Announcer(FAST), Settings(), say_ready=False)
    run_to_end(assistant, speaker)
    speaker.close()
    said = [ident for _, ident, _ in assistant.history if ident != "photos_ended"]
    assert len(said) == 2 and said[0] == said[1], assistant.history


def _coloured_folder(tmp_path, colours):
    from PIL import Image
    folder = tmp_path / "busy"
    folder.mkdir()
    for i, colour in enumerate(colours):
        Image.fromarray(textured(colour)).save(folder / f"{i}_{colour}.png")
    return folder


def test_a_busy_computer_still_names_every_photo_of_a_folder(tiny_checkpoint, tmp_path):
    """Trial item 1: with recognition slower than the photos' time in view (a loaded CPU), a
    folder once moved on before its photo was classified and products went unsaid. Each photo
    now waits for its votes, and each is said tagged with its own photo."""
    colours = ["red", "green", "blue", "red", "green", "blue"]
    folder = _coloured_folder(tmp_path, colours)
    # a photo is in view for 2 frames (0.1 s); one classification takes 0.15 s
    source = PhotoFolderSource(folder, hold_seconds=0.1, fps=20)
    source.open()
    classifier = ColourClassifier(load_checkpoint(tiny_checkpoint), delay=0.15)
    speaker = Speaker(RecordingEngine())
    transcript = Transcript(tmp_path / "said.tsv")
    assistant = Assistant(classifier, source, speaker, Announcer(FAST), Settings(),
                          transcript=transcript, say_ready=False)
    run_to_end(assistant, speaker, timeout=60)
    transcript.close()
    speaker.close()
    ids = {"red": "red_sauce", "green": "green_tea", "blue": "blue_milk"}
    rows = [line.split("\t") for line in (tmp_path / "said.tsv").read_text().splitlines()]
    assert [(row[1], row[2]) for row in rows] == \
        [(f"{i}_{c}.png", ids[c]) for i, c in enumerate(colours)] + [("", "photos_ended")]


def test_recognition_falling_behind_is_said_not_left_silent(tiny_checkpoint, monkeypatch):
    """Trial item 1: when no picture has been recognised for a while, though pictures keep
    coming, "Still looking…" is said once, and the product when recognition catches up."""
    monkeypatch.setattr("assistant.live.progress.STILL_LOOKING", 0.05)
    stall = threading.Event()

    class Stalling(ColourClassifier):
        def predict(self, rgb):
            if self.calls == 4:          # the fifth picture takes until the test lets it go
                self.calls += 1
                stall.wait(30)
            return super().predict(rgb)

    classifier = Stalling(load_checkpoint(tiny_checkpoint))
    assistant, speaker, engine, events = make(tiny_checkpoint, [textured("green")] * 400,
                                              classifier=classifier)
    assistant.ready_seconds = 0.0     # the ready sentence is not what this test is about
    assistant.start()
    try:
        assert wait_until(lambda: any(i == "still_looking" for _, i, _ in assistant.history))
        stall.set()
        assert wait_until(lambda: assistant.source_ended) and speaker.wait_idle(10)
    finally:
        stall.set()
        assistant.stop()
        speaker.close()
    assert "Still looking…" in engine.texts and "green tea" in engine.texts
    said = [u["id"] for u in events.of("utterance")]
    assert "still_looking" in said
