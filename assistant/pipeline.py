"""The running assistant: camera -> vision -> classifier -> announcer -> speech. No Qt.

A worker thread classifies only the newest frame; everything the window needs arrives
through on_event(name, payload) calls, from worker threads (the UI turns them into signals):

  "frame"       {"frame": RGB array, "seq": int}          every new camera frame
  "prediction"  {"prediction": Prediction, "brightness", "sharpness", "ms", "seq"}
  "utterance"   {"utterance": Utterance, "id": product or message id, "words": str, "time"}
  "status"      {"status": message id, "words": str, "detail": str}
                 (camera_disconnected, camera_reconnected, speech_failed, source_ended,
                  worker_failed ...)
  "ready"       {"seconds": start-up time}
  "spoken"      {"words": str, "kind": str}               speech of an item began
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


class Transcript:
    """Appends one line per utterance: ISO time, product id or message id, the words."""

    def __init__(self, path: str | Path) -> None:
        raise NotImplementedError

    def write(self, when: float, ident: str, words: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class Assistant:
    """Ties source, classifier, announcer and speaker together in a worker thread."""

    def __init__(self, classifier, source, speaker, announcer, settings,
                 on_event: Callable[[str, dict], None] | None = None,
                 transcript: Transcript | None = None) -> None:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def identify_now(self) -> None:
        """Answer about the newest frame now, whatever continuous mode says."""
        raise NotImplementedError

    def set_continuous(self, on: bool) -> None:
        raise NotImplementedError

    def set_language(self, language: str) -> None:
        raise NotImplementedError

    def set_source(self, source) -> None:
        """Switch camera/source while running."""
        raise NotImplementedError

    def repeat(self) -> bool:
        raise NotImplementedError

    def stop_speech(self) -> None:
        raise NotImplementedError

    def say_message(self, message_id: str, **fields) -> str:
        """Speak a catalogue phrase now (command feedback); returns the words."""
        raise NotImplementedError
