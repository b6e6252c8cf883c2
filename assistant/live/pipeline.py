"""The running assistant: camera -> vision -> classifier -> announcer -> speech. No Qt.

A worker thread classifies only the newest frame; everything the window needs arrives
through on_event(name, payload) calls, made from worker threads (the UI turns them into
signals):

  "frame"       {"frame": RGB array, "seq": int}          every new camera frame
  "prediction"  {"prediction": Prediction, "brightness", "sharpness", "ms", "seq"}
  "utterance"   {"utterance": Utterance, "id": product or message id, "words": str,
                 "time": wall-clock seconds}
  "status"      {"status": message id, "words": str, "detail": str}
                 (camera_failed, camera_disconnected, camera_reconnected, speech_failed,
                  source_ended, source_failed, worker_failed)
  "ready"       {"seconds": from start() to the first classified frame, and, when the
                 ready sentence was said, "words" and "time"}
  "spoken"      {"words": str, "kind": str, "time": monotonic seconds}  speech began
  "barcode"     a code came into view (assistant.live.barcode_watch.SpokenBarcodes)
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from assistant.catalog import phrase
from assistant.catalog.languages import LANGUAGES
from assistant.inference.protocol import Classifier
from assistant.inference.vision import brightness, sharpness
from assistant.live.announcer import Announcer, Utterance, sentence
from assistant.live.barcode_watch import BarcodeWatch, SpokenBarcodes
from assistant.live.camera import FrameSource
from assistant.live.grabber import FrameGrabber
from assistant.live.label_fusion import LabelFusion
from assistant.live.progress import Progress
from assistant.live.settings import Settings
from assistant.live.speech import Priority, Speaker, SpeechItem
from assistant.live.transcript import Transcript

log = logging.getLogger(__name__)


class Assistant:
    """Ties source, classifier, announcer and speaker together in a worker thread.

    Everything said goes into .history as (time, id, words) and the transcript: products,
    hints, camera news, and command feedback ("Louder.", spoken with say_message(), or by
    the window, which records it with record()).
    """

    def __init__(self, classifier: Classifier, source: FrameSource, speaker: Speaker, announcer: Announcer,
                 settings: Settings, on_event: Callable[[str, dict], None] | None = None,
                 transcript: Transcript | None = None, say_ready: bool = True,
                 barcode_names: Callable[[str], object] | None = None, ticker=None) -> None:
        self.classifier = classifier
        self.source = source
        self.speaker = speaker
        self.announcer = announcer
        self.settings = settings
        self.on_event = on_event or (lambda name, payload: None)
        self.transcript = transcript
        self.say_ready = say_ready
        #: barcode_names: code -> the user's entry for it or None (the barcode list); ticker:
        #: guidance ticks (assistant.live.ticks.Ticker) or None
        self.spoken_codes = SpokenBarcodes(speaker, settings, barcode_names, ticker,
                                           self.record, self._emit)
        self.labels = LabelFusion(lambda why: self._status("label_words_failed", why))
        self.history: list[tuple[float, str, str]] = []
        self.last_prediction = None
        self.frames_classified = 0
        self.classify_ms: deque[float] = deque(maxlen=200)
        self.ready_seconds: float | None = None
        self._identify = threading.Event()
        self._reset_announcer = threading.Event()
        self._new_announcer_settings = None  # applied by the worker, which owns the announcer
        self._last_showing = None  # the photo of a folder in view at the last frame
        self._item = ""  # what the frame classified last showed (the source's item)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._grabber: FrameGrabber | None = None
        self._worker: threading.Thread | None = None
        self._started = 0.0
        self._error_reported: str | None = None
        self._failing = False
        self._banded_by = None
        self._progress = Progress()  # "Still looking…" when recognition falls behind
        self._listen_to_speaker()

    # --- life cycle -----------------------------------------------------------------
    def start(self) -> None:
        if self._worker is not None:
            return
        self._started = time.monotonic()
        self._stop.clear()
        self._grabber = self._make_grabber(self.source)
        self._grabber.start()
        self._worker = threading.Thread(target=self._run, name="assistant", daemon=True)
        self._worker.start()
        self.spoken_codes.start(self._newest, self._showing, self._item_of)
        self.labels.start(self._newest, self._showing)
        if self.speaker.failed:     # it failed before we were listening
            self._status("speech_failed", self.speaker.failed)

    def stop(self) -> None:
        """Stop the camera and the worker (the speaker and transcript stay usable)."""
        self._stop.set()
        self.spoken_codes.stop()
        self.labels.stop()
        if self._grabber is not None:
            self._grabber.stop()
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(5.0)
        self._worker = None

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    @property
    def source_ended(self) -> bool:
        return self._grabber is not None and self._grabber.ended

    @property
    def frames_seen(self) -> int:
        return self._grabber.latest()[1] if self._grabber else 0

    @property
    def barcodes(self) -> BarcodeWatch | None:
        """The barcode watch (None before barcodes were first read, or when turned off)."""
        return self.spoken_codes.watch

    # --- commands -------------------------------------------------------------------
    def identify_now(self) -> None:
        """Answer about the newest frame now, whatever continuous mode says."""
        self._identify.set()

    def set_continuous(self, on: bool) -> None:
        """Continuous announcements on or off (turning on announces what is in view)."""
        self.settings.continuous = bool(on)
        if on:
            self._reset_announcer.set()     # applied by the worker, which owns the announcer

    def set_language(self, language: str) -> None:
        """The one place the language changes: what is said and shown from now on."""
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
        self.settings.language = language
        self.speaker.language = language

    def set_classifier(self, classifier: Classifier) -> None:
        """Use another model from the next frame on; the votes of the old one are forgotten so
        they cannot name a product the new model does not know."""
        self.classifier = classifier
        self._reset_announcer.set()

    def set_announcer_settings(self, announcer_settings) -> None:
        """New thresholds, window and agreement: the worker applies them before its next frame
        and starts counting votes afresh."""
        announcer_settings.validate()
        with self._lock:
            self.settings.announcer = announcer_settings
            self._new_announcer_settings = announcer_settings

    def set_barcodes(self, on: bool) -> None:
        """Read barcodes in view (its own thread: recognition never waits for it), or stop
        reading them; takes effect while running, and at start()."""
        self.spoken_codes.set(on)

    def set_label_watch(self, watch) -> None:
        """Fuse the label words read by watch (None: none) into the answers from the next
        frame on; it reads while recognition runs."""
        self.labels.use(watch)

    def _showing(self, seq: int):
        grabber = self._grabber
        return grabber.showing(seq) if grabber is not None else None

    def _newest(self):
        grabber = self._grabber
        return grabber.latest() if grabber is not None else (None, 0)

    def _item_of(self, seq: int) -> str | None:
        grabber = self._grabber
        return grabber.item(seq) if grabber is not None else None

    def latest_frame(self):
        """The newest camera picture (RGB array) or None."""
        return self._newest()[0]

    def set_source(self, source: FrameSource) -> None:
        """Switch camera/source while running (the announcer forgets what was in view)."""
        old = self._grabber
        self.source = source
        self._reset_announcer.set()
        if self._worker is None:
            return
        with self._lock:
            self._grabber = self._make_grabber(source)
            self._grabber.start()
        if old is not None:
            old.stop()

    def repeat(self) -> bool:
        """Say the last result again; says "nothing to repeat" when there is none."""
        if self.speaker.repeat_last():
            return True
        self.say_message("nothing_to_repeat")
        return False

    def stop_speech(self) -> None:
        self.speaker.stop()

    def say_message(self, message_id: str, priority: Priority = Priority.NOW, **fields) -> str:
        """Speak a catalogue phrase now (command feedback) and record it; returns the words."""
        words = phrase(message_id, self.settings.language, **fields)
        self.speaker.say(words, self.settings.language, priority, kind="feedback", key=message_id)
        self.record(message_id, words)
        return words

    def record(self, ident: str, words: str, item: str | None = None) -> float:
        """Keep something said in the history and the transcript (the window's own feedback
        comes here too: everything said is recorded); returns its time. item: what was in
        view when it was seen, when that is not the frame classified last (a label read from
        an earlier frame)."""
        when = time.time()
        self.history.append((when, ident, words))
        if self.transcript is not None:
            self.transcript.write(when, self._item if item is None else item, ident, words)
        return when

    def words_for(self, utterance: Utterance, language: str | None = None) -> str:
        """The sentence for an utterance in language (default: the current one)."""
        return sentence(utterance, self.classifier.checkpoint, language or self.settings.language)

    # --- worker ---------------------------------------------------------------------
    def _make_grabber(self, source: FrameSource) -> FrameGrabber:
        def on_frame(frame, seq, grabber_source=source):
            if grabber_source is self.source:
                self._emit("frame", {"frame": frame, "seq": seq})
                self._check_progress()
        # a photo folder waits for a full window of votes on each photo before the next
        return FrameGrabber(source, lambda status, s=source: self._camera_status(status, s),
                            on_frame=on_frame, min_looks=self.announcer.settings.window)

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:   # a bug in the loop itself: say so, never die silently
            log.exception("the recognition worker stopped")
            self._status("worker_failed", f"{type(exc).__name__}: {exc}")

    def _loop(self) -> None:
        seq, grabber = 0, None
        while not self._stop.is_set():
            with self._lock:
                if grabber is not self._grabber:
                    grabber, seq = self._grabber, 0
            frame, new = grabber.wait_new(seq, timeout=0.2)
            if self._stop.is_set():
                break
            if new == seq:
                if self._identify.is_set():   # no new picture (ended or stuck): answer anyway
                    self._step(frame, seq)
                continue
            seq = new
            self._step(frame, seq)

    def _step(self, frame, seq: int) -> None:
        """One frame through vision, classifier and announcer; errors are reported, not fatal."""
        try:
            self._process(frame, seq)
            self._error_reported = None
            self._failing = False
            self._progress.done()
        except Exception as exc:
            log.exception("recognition failed on frame %d", seq)
            detail = f"{type(exc).__name__}: {exc}"
            if detail != self._error_reported:   # say it once, not once per frame
                self._error_reported = detail
                self._status("worker_failed", detail)
            if self._failing:                    # failing again and again: do not spin
                self._stop.wait(0.5)
            self._failing = True
        finally:
            grabber = self._grabber
            if grabber is not None and frame is not None:
                grabber.looked(seq)             # a waiting photo folder may move on

    def _check_progress(self) -> None:
        """Called for every new camera frame: when recognition has not finished a picture for
        a while (a busy computer: assistant.live.progress), say so once, rather than stay silent."""
        if self.ready_seconds is not None and self.settings.continuous and self._progress.stalled():
            self._announce(Utterance("hint", None, "still_looking", 0.0), Priority.NEXT)

    def _process(self, frame, seq: int) -> None:
        identify = self._identify.is_set()
        if frame is None:
            if identify:
                self._identify.clear()
                self._announce(Utterance("hint", None, "no_picture", 0.0), Priority.NOW)
            return
        grabber = self._grabber
        self._item = grabber.item(seq) if grabber is not None else ""  # what the records name
        t0 = time.perf_counter()
        bright, sharp = brightness(frame), sharpness(frame)
        with self._lock:
            new_settings, self._new_announcer_settings = self._new_announcer_settings, None
        if new_settings is not None:
            self.announcer.settings = new_settings
            self.announcer.reset()
        classifier = self.classifier
        prediction = self.labels.predict(classifier, frame, lambda: self._showing(seq))
        if classifier is not self._banded_by:  # a new model brings its own calibrated bands
            self._banded_by = classifier
            self.announcer.set_model_bands(classifier.calibration.say, classifier.calibration.maybe)
        ms = (time.perf_counter() - t0) * 1000.0
        self.frames_classified += 1
        self.classify_ms.append(ms)
        self.last_prediction = prediction
        self._emit("prediction", {"prediction": prediction, "brightness": bright,
                                  "sharpness": sharp, "ms": ms, "seq": seq})
        if identify:
            self._identify.clear()
            if not self.spoken_codes.name_taught_code():
                self._announce(self.announcer.identify(prediction, bright, sharp), Priority.NOW)
        elif self.settings.continuous:
            # each photo of a folder is a new appearance, even of the product the last one showed
            showing = grabber.showing(seq) if grabber is not None else None  # as the frame was read
            if showing is not None and showing != self._last_showing:
                if self._last_showing is not None:
                    self._reset_announcer.set()  # (the barcode watch forgets on its own)
                self._last_showing = showing
            if self._reset_announcer.is_set():
                self._reset_announcer.clear()
                self.announcer.reset()
            utterance = self.announcer.observe(prediction, bright, sharp, time.monotonic())
            if utterance is not None:
                self._announce(utterance, Priority.NORMAL)
        if self.ready_seconds is None:
            self.ready_seconds = time.monotonic() - self._started
            ready: dict = {"seconds": self.ready_seconds}
            if self.say_ready:
                words = phrase("ready", self.settings.language)
                self.speaker.say(words, kind="status")
                ready["time"] = self.record("ready", words)  # everything said is recorded
                ready["words"] = words
            self._emit("ready", ready)

    def _announce(self, utterance: Utterance, priority: Priority) -> None:
        lang = self.settings.language
        words = self.words_for(utterance, lang)
        if utterance.kind == "hint":
            self.speaker.say(words, lang, priority, kind="hint", key="hint")
        else:
            self.speaker.say(words, lang, priority, kind="product")
        when = self.record(utterance.ident, words)
        self._emit("utterance", {"utterance": utterance, "id": utterance.ident,
                                 "words": words, "time": when})

    # --- status, history, events ----------------------------------------------------
    def _camera_status(self, status: str, source: FrameSource) -> None:
        if source is not self.source:
            return          # an old camera, being replaced
        if status in ("camera_disconnected", "camera_reconnected"):
            self._reset_announcer.set()     # votes from before the break are stale
        grabber = self._grabber
        detail = (grabber.error if grabber else None) or ""
        self._status(status, detail)

    def _status(self, status: str, detail: str = "") -> None:
        lang = self.settings.language
        # each source says its end in its own words (the status id stays source_ended)
        sentence = self.source.ended_message if status == "source_ended" else status
        words = phrase(sentence, lang, detail=detail or "?")
        if status in ("source_ended", "source_failed", "camera_disconnected", "camera_failed"):
            self._item = ""  # nothing is in view any more
        if status != "speech_failed":      # no use saying that speech does not work
            self.speaker.say(words, lang, Priority.NEXT, kind="status", key=f"status:{status}")
        self.record(sentence, words)
        self._emit("status", {"status": status, "words": words, "detail": detail})

    def _emit(self, name: str, payload: dict) -> None:
        try:
            self.on_event(name, payload)
        except Exception:
            log.exception("event listener failed on %s", name)

    def _listen_to_speaker(self) -> None:
        def on_error(message: str) -> None:
            self._status("speech_failed", message)

        def on_start(item: SpeechItem) -> None:
            self._emit("spoken", {"words": item.text, "kind": item.kind, "time": time.monotonic()})

        self.speaker.listen(on_start=on_start, on_error=on_error)
