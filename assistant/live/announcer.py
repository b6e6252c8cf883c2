"""Pure policy: which prediction deserves to be spoken, and when. No Qt, no audio, no clock.

The pipeline feeds one (prediction, brightness, sharpness, time) per classified frame;
the announcer answers with at most one Utterance:

* Votes: a frame votes for its top product when its probability reaches the "maybe"
  threshold and the picture is neither too dark nor too blurred. A product is in view
  when it holds `agreement` of the last `window` votes.
* Bands: the mean probability of the agreeing votes chooses what is said: at least
  `say_threshold` -> the name; at least `maybe_threshold` -> "not sure, maybe X";
  below -> nothing (such frames do not vote). Probabilities are calibrated (the model's
  temperature), and a model that carries its own bands (fitted on held-out photos so that
  what is said plainly is right 98% of the time) uses them while `model_bands` is on.
* Look-alikes: when the best two of most agreeing votes are a pair the model is known to
  confuse (oil/vinegar), both are said instead of one name said as sure.
* Repeats: a product is said once while it stays in view. It counts as gone after
  `leave_after` seconds and `agreement` frames without its vote, and is announced again
  when it comes back. (The pipeline resets the announcer when the camera is lost.) A
  "maybe" is followed by the plain name if the product becomes certain.
* Hints: while no product is in view, a problem that lasts `hint_after` seconds (too
  dark, too blurred, or nothing recognised) is spoken, at most once per `hint_interval`.

Why these defaults (figures: `main.py bench --only calibrate` on the bundled EfficientNet-
Lite0, Freiburg fold-0 validation split, 294 photos, top-1 88.4%; rerun it on a new model):
* say_threshold 0.45: the name is said plainly for 82% of single photos and is right 95.0%
  of the time (0.6 would be 96.3% for 74%, 0.8 is 98.6% but covers only 48%).
* maybe_threshold 0.3: photos between 0.3 and 0.45 (9.5%) are right 71.4% of the time:
  worth a "not sure, maybe"; below 0.3 (8%) only 41.7% are right, so silence.
* window 3, agreement 2: the majority of the last three frames. With 5.0% wrong frames in
  the name band, two wrong frames out of three happen in at most 0.7% of holds if errors
  were independent (3 of 5 would give 0.1%), and a single odd frame never speaks. The
  cost of waiting is about (agreement + 1) x the time per frame: on the shared 2-core
  machine (~200 ms a frame) a product was spoken 459 ms median after it appeared with 2
  of 3, 597 ms with 3 of 5 (`main.py bench --only latency --votes 3/5`); the goal is 400.
* dark_level 30: darkening the photos keeps most accuracy down to brightness 35 (82.5% vs
  87.5% clean), then it keeps falling (79% at 24, 69% at 12, 45% at 6); real low light
  also adds noise, so hint a little below 35. Clean photos are all brighter than 79 (1st
  percentile).
* blur_level 25: a slight blur (sharpness 88) keeps 83% accuracy, a stronger one (13)
  drops to 64%, and 4.5 to 38%; clean photos are above 187 (1st percentile). 25 sits
  between, lower rather than higher because webcams are softer than these phone photos
  and a needless "too blurred" is worse than a "not sure".
* hint_after 2 s, hint_interval 10 s, leave_after 1 s: a hand moving a product blurs a few
  frames, which must not trigger a hint; a repeated hint every 10 s reassures without
  nagging; a product hidden for a moment (turned in the hand) is not said again.
"""
from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

from assistant.catalog import phrase, product_name
from assistant.inference.calibration import DEFAULT_MAYBE, DEFAULT_SAY
from assistant.inference.prediction import Prediction


@dataclass
class AnnouncerSettings:
    """Thresholds of the policy (stored in the user's settings)."""

    window: int = 3            # frames voted over
    agreement: int = 2         # votes the winner needs within the window
    say_threshold: float = DEFAULT_SAY      # mean probability to say the name plainly
    maybe_threshold: float = DEFAULT_MAYBE  # ... to say "not sure, maybe X"; below: silent
    dark_level: float = 30.0   # brightness (0-255) below which the picture is too dark
    blur_level: float = 25.0   # sharpness (Laplacian variance) below which it is too blurred
    hint_after: float = 2.0    # seconds a problem must last before a hint is spoken
    hint_interval: float = 10.0  # seconds between two spoken hints
    leave_after: float = 1.0   # seconds without votes before a product counts as gone
    model_bands: bool = True   # use the model's own calibrated say/maybe bands when it has them

    def validate(self) -> None:
        """Raise ValueError when the thresholds contradict each other."""
        if not 0.0 <= self.maybe_threshold <= self.say_threshold <= 1.0:
            raise ValueError("need 0 <= maybe_threshold <= say_threshold <= 1")
        if not 1 <= self.agreement <= self.window:
            raise ValueError("need 1 <= agreement <= window")
        if min(self.hint_after, self.hint_interval, self.leave_after,
               self.dark_level, self.blur_level) < 0:
            raise ValueError("times and levels cannot be negative")


@dataclass
class Utterance:
    """What to say: kind "product" | "maybe" | "hint"; hints carry a catalogue message id."""

    kind: str      # product | maybe | lookalike | hint
    class_id: str | None
    message_id: str | None
    score: float
    other: str | None = None   # lookalike: the product it may also be

    @property
    def ident(self) -> str:
        """The id that goes into the history: the product id (also for "maybe"), else the message id."""
        return self.class_id or self.message_id or ""


def sentence(utterance: Utterance, checkpoint, language: str) -> str:
    """The words of an utterance in language: a hint's catalogue sentence, or the product's
    name from the checkpoint (the model's metadata), alone, as "not sure, maybe" or with its
    look-alike."""
    if utterance.kind == "hint":
        return phrase(utterance.message_id or "nothing_in_view", language)
    name = product_name(checkpoint, utterance.class_id, language)
    if utterance.kind == "lookalike" and utterance.other:
        return phrase("lookalike", language, name=name,
                      other=product_name(checkpoint, utterance.other, language))
    return phrase("not_sure_maybe", language, name=name) if utterance.kind == "maybe" else name


class Announcer:
    """Turns a stream of predictions into a few utterances."""

    def __init__(self, settings: AnnouncerSettings | None = None) -> None:
        self.settings = settings or AnnouncerSettings()
        self.settings.validate()
        self._model_bands: tuple[float, float] | None = None
        self.reset()

    def set_model_bands(self, say: float | None, maybe: float | None) -> None:
        """The model's own calibrated bands (None: it has none); used while model_bands is on."""
        self._model_bands = (say, maybe) if say is not None and maybe is not None and maybe <= say else None

    @property
    def say_threshold(self) -> float:
        if self.settings.model_bands and self._model_bands:
            return self._model_bands[0]
        return self.settings.say_threshold

    @property
    def maybe_threshold(self) -> float:
        if self.settings.model_bands and self._model_bands:
            return self._model_bands[1]
        return self.settings.maybe_threshold

    def reset(self) -> None:
        """Forget votes and what is in view (e.g. after a camera change)."""
        self._votes: deque[tuple[str | None, float, str | None]] = deque(maxlen=self.settings.window)
        self._current: str | None = None
        self._current_kind: str | None = None
        self._last_seen = 0.0
        self._misses = 0
        self._problem: str | None = None
        self._problem_since = 0.0
        self._last_hint = float("-inf")

    @property
    def in_view(self) -> str | None:
        """The product announced and still in view, if any."""
        return self._current

    def update_settings(self, settings: AnnouncerSettings) -> None:
        """New thresholds take effect at once; the votes are kept when the window allows."""
        settings.validate()
        self.settings = settings
        self._votes = deque(self._votes, maxlen=settings.window)

    def observe(self, prediction: Prediction | None, brightness: float, sharpness: float,
                now: float) -> Utterance | None:
        """Continuous mode: one frame's prediction at time now (seconds); maybe something to say."""
        s = self.settings
        problem = self._quality_problem(brightness, sharpness)
        if problem is None and prediction is not None and prediction.score >= self.maybe_threshold:
            self._votes.append((prediction.label, prediction.score, prediction.lookalike))
        else:
            self._votes.append((None, 0.0, None))
            problem = problem or "nothing_in_view"
        if self._current is not None:
            if self._votes[-1][0] == self._current:
                self._last_seen, self._misses = now, 0
            else:
                self._misses += 1
            # gone after leave_after seconds *and* `agreement` frames without its vote: on a
            # slow machine one misread frame must not make it "leave" and be said again
            if now - self._last_seen >= s.leave_after and self._misses >= s.agreement:
                self._current = self._current_kind = None   # announce it if it returns

        winner, score, other = self._winner()
        if winner is not None:
            self._problem = None
            band = "maybe" if score < self.say_threshold else "lookalike" if other else "product"
            if winner != self._current:
                self._current, self._current_kind, self._last_seen = winner, band, now
                self._misses = 0
                return self._utterance(band, winner, score, other)
            if self._current_kind == "maybe" and band != "maybe":
                self._current_kind = band
                return self._utterance(band, winner, score, other)
            return None
        if self._current is not None:
            return None     # the product may just be turning; no hints while it is in view
        # votes that do not agree for hint_after seconds are "nothing recognised" too
        return self._hint(problem or "nothing_in_view", now)

    def identify(self, prediction: Prediction | None, brightness: float,
                 sharpness: float) -> Utterance:
        """On demand: always an answer, a product, "not sure, maybe X", a hint, or nothing recognised."""
        if prediction is None:
            return Utterance("hint", None, "no_picture", 0.0)
        problem = self._quality_problem(brightness, sharpness)
        if problem is not None:
            return Utterance("hint", None, problem, prediction.score)
        if prediction.score < self.maybe_threshold:
            return Utterance("hint", None, "nothing_recognised", prediction.score)
        band = ("maybe" if prediction.score < self.say_threshold else
                "lookalike" if prediction.lookalike else "product")
        # continuous mode must not say again what the user just heard
        self._current, self._current_kind = prediction.label, band
        return self._utterance(band, prediction.label, prediction.score, prediction.lookalike)

    def _quality_problem(self, brightness: float, sharpness: float) -> str | None:
        if brightness < self.settings.dark_level:
            return "too_dark"
        if sharpness < self.settings.blur_level:
            return "too_blurred"
        return None

    def _winner(self) -> tuple[str | None, float, str | None]:
        """The product holding `agreement` votes, their mean probability, and its look-alike
        when most of those votes had one."""
        counts = Counter(label for label, _, _ in self._votes if label is not None)
        if not counts:
            return None, 0.0, None
        label, n = counts.most_common(1)[0]
        if n < self.settings.agreement:
            return None, 0.0, None
        mine = [(score, other) for lab, score, other in self._votes if lab == label]
        partners = Counter(other for _, other in mine if other)
        other, k = partners.most_common(1)[0] if partners else (None, 0)
        return label, sum(score for score, _ in mine) / len(mine), other if 2 * k > len(mine) else None

    def _hint(self, problem: str, now: float) -> Utterance | None:
        if problem != self._problem:
            self._problem, self._problem_since = problem, now
            return None
        s = self.settings
        if now - self._problem_since < s.hint_after or now - self._last_hint < s.hint_interval:
            return None
        self._last_hint = now
        return Utterance("hint", None, problem, 0.0)

    @staticmethod
    def _utterance(band: str, class_id: str, score: float, other: str | None = None) -> Utterance:
        message = {"maybe": "not_sure_maybe", "lookalike": "lookalike"}.get(band)
        return Utterance(band, class_id, message, score, other if band == "lookalike" else None)
