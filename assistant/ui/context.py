"""The running app's parts in one object: the window and maintainer mode both drive it.

It owns the classifier, the speaker and the core Assistant, and knows how to swap the model
or the camera while running. No widgets here; callbacks go through the EventBridge.
"""
from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from pathlib import Path

from assistant.inference.protocol import Classifier

log = logging.getLogger(__name__)


class AppContext:
    """What maintainer mode receives: .classifier, .speaker, .settings, .reload_model(path)."""

    def __init__(self, settings, classifier: Classifier, speaker, source, bridge, transcript=None,
                 engine_name: str = "auto", save_settings: bool = True,
                 pinned: dict | None = None) -> None:
        from assistant.live.announcer import Announcer
        from assistant.live.pipeline import Assistant
        self.settings = settings
        self.classifier = classifier
        self.speaker = speaker
        self.source = source
        self.bridge = bridge
        self.transcript = transcript
        self.engine_name = engine_name
        self.save_settings_enabled = save_settings
        #: settings set by command-line flags: name -> (value in the file, value of the flag);
        #: saved as the file had them unless the user changed them in the window since
        self.pinned = dict(pinned or {})
        #: called with the new Classifier after reload_model (the window re-labels itself)
        self.on_model_changed: Callable[[object], None] | None = None
        self.announcer = Announcer(settings.announcer)
        from assistant.store.barcodes import open_book
        self.barcode_book, self.barcode_problem = open_book()
        from assistant.live.ticks import Ticker
        self.assistant = Assistant(classifier, source, speaker, self.announcer, settings,
                                   on_event=bridge.on_event, transcript=transcript,
                                   barcode_names=self.barcode_name, ticker=Ticker())
        #: the label reader, opened on the first reading (None until then, and when it cannot
        #: be had: reader_problem says why)
        self.reader = None
        self.reader_problem: str | None = None
        self.started = False
        self.watch_labels(classifier)

    def label_reader(self):
        """The LabelReader, opened once, with the label words of the model in use (they name
        the product read); None when no text engine can be had."""
        if self.reader is None and self.reader_problem is None:
            from assistant.reading import open_reader
            self.reader, self.reader_problem = open_reader()
        if self.reader is not None:
            from assistant.reading.reader import labels_of
            self.reader.labels, self.reader.names = labels_of(self.classifier.checkpoint.meta)
        return self.reader

    def watch_labels(self, classifier: Classifier) -> None:
        """While a model with label words is in use, read the pack in view in the background
        and fuse its words into recognition (assistant.reading.watch); nothing otherwise."""
        from assistant.reading.watch import open_watch
        self.assistant.set_label_watch(open_watch(classifier.checkpoint.meta))

    def start(self) -> None:
        self.assistant.start()
        self.started = True

    def stop(self) -> None:
        """Stop recognition and speech; safe to call twice."""
        if self.started:
            self.started = False
            try:
                self.assistant.stop()
            except Exception:  # shutting down: log, never block the exit
                log.exception("stopping the assistant failed")
        try:
            self.speaker.close()
        except Exception:
            log.exception("closing the speech engine failed")
        if self.transcript is not None:
            self.transcript.close()

    def save_settings(self) -> None:
        """Remember the settings for the next run (not for throw-away runs with flags)."""
        if not self.save_settings_enabled:
            return
        settings = self.settings
        if self.pinned:
            settings = copy.deepcopy(settings)
            for name, (stored, flagged) in self.pinned.items():
                if getattr(settings, name) == flagged:
                    setattr(settings, name, stored)
        try:
            settings.save()
        except OSError as exc:  # a read-only home must not stop the app
            log.warning("cannot save settings: %s", exc)

    def reload_model(self, path: str | Path):
        """Load the model at path and use it from the next frame on; returns the Classifier.

        Raises CheckpointError (the caller shows it); the old model keeps running then."""
        from assistant.inference.onnx_backend import open_classifier
        classifier = open_classifier(path, "auto")
        self.assistant.set_classifier(classifier)
        self.watch_labels(classifier)
        self.classifier = classifier
        log.info("model %s loaded (%d products)", path, len(classifier.class_ids))
        if self.on_model_changed is not None:
            self.on_model_changed(classifier)
        return classifier

    def set_source(self, spec):
        """Open the source spec and switch to it; raises CameraError (the caller says so)."""
        from assistant.live.camera import open_source
        source = open_source(spec, self.settings.hold)
        source.open()  # a webcam that is not there: say so now and keep the old source
        self.assistant.set_source(source)
        self.source = source
        self.settings.camera = spec
        self.save_settings()
        return source

    def latest_frame(self):
        """The newest camera picture (RGB array) or None: maintainer mode photographs with it."""
        return self.bridge.newest_frame()



    def barcode_name(self, code: str):
        """The user's entry for a code seen by the camera (None: not in the list)."""
        book = self.barcode_book
        return book.get(code) if book is not None else None
