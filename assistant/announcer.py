"""Pure policy: which prediction deserves to be spoken, and when. No Qt, no audio, no clock.

(The defaults' reasoning is documented here once scripts/calibrate_announcer.py has run.)
"""
from __future__ import annotations

from dataclasses import dataclass

from assistant.classifier import Prediction


@dataclass
class AnnouncerSettings:
    """Thresholds of the policy (stored in the user's settings)."""

    window: int = 5            # frames voted over
    agreement: int = 3         # votes the winner needs within the window
    say_threshold: float = 0.6     # mean probability to say the name plainly
    maybe_threshold: float = 0.35  # ... to say "not sure, maybe X"; below: silent
    dark_level: float = 40.0   # brightness (0-255) below which the picture is too dark
    blur_level: float = 20.0   # sharpness (Laplacian variance) below which it is too blurred
    hint_after: float = 2.0    # seconds a problem must last before a hint is spoken
    hint_interval: float = 10.0  # seconds before the same hint may be spoken again
    leave_after: float = 1.0   # seconds without votes before a product counts as gone


@dataclass
class Utterance:
    """What to say: kind "product" | "maybe" | "hint"; hints carry a catalogue message id."""

    kind: str
    class_id: str | None
    message_id: str | None
    score: float


class Announcer:
    """Turns a stream of predictions into a few utterances."""

    def __init__(self, settings: AnnouncerSettings | None = None) -> None:
        raise NotImplementedError

    def observe(self, prediction: Prediction | None, brightness: float, sharpness: float,
                now: float) -> Utterance | None:
        """Continuous mode: one frame's prediction at time now (seconds); maybe something to say."""
        raise NotImplementedError

    def identify(self, prediction: Prediction | None, brightness: float,
                 sharpness: float) -> Utterance:
        """On demand: always an answer, a product, "not sure, maybe X", a hint, or nothing recognised."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget votes and what is in view (e.g. after a camera change)."""
        raise NotImplementedError
