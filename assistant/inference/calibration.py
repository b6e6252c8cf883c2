"""A model's calibration, as stored in its checkpoint, and what the runtime does with it. numpy only.

`meta["calibration"]` (written by train, every retrain and `evaluate --calibrate`):
  temperature      logits are divided by it before the softmax, so that a probability of
                   0.9 is right about 9 times in 10 on photos the model never saw;
  say / maybe      the announcer's bands for this model, on calibrated probabilities;
  lookalikes       product pairs the model confuses on held-out photos: when the best two
                   are such a pair, both are said ("Oil, or maybe vinegar");
  ece_before/after expected calibration error on the photos it was fitted on; n, photos.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from assistant.inference.prediction import Prediction, softmax, top_k

#: the runner-up of a look-alike pair is named too from this (calibrated) probability on
LOOKALIKE_SECOND = 0.05


#: the bands of a model without a calibration of its own (raw probabilities; the announcer's
#: documented defaults, measured on the 2020-style model: see assistant/live/announcer.py)
DEFAULT_SAY, DEFAULT_MAYBE = 0.45, 0.3


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    say: float | None = None
    maybe: float | None = None
    lookalikes: frozenset[frozenset[str]] = field(default_factory=frozenset)

    @classmethod
    def from_meta(cls, meta: dict) -> Calibration:
        """The checkpoint's calibration; none (temperature 1, no bands) for older models."""
        data = meta.get("calibration") if isinstance(meta, dict) else None
        if not isinstance(data, dict):
            return cls()
        t = data.get("temperature", 1.0)
        t = float(t) if isinstance(t, int | float) and 0.05 <= float(t) <= 20 and np.isfinite(t) else 1.0
        say, maybe = _band(data.get("say")), _band(data.get("maybe"))
        if say is not None and maybe is not None and maybe > say:
            say = maybe = None
        pairs = frozenset(frozenset(p[:2]) for p in data.get("lookalikes", [])
                          if isinstance(p, list | tuple) and len(p) >= 2
                          and all(isinstance(c, str) for c in p[:2]) and p[0] != p[1])
        return cls(t, say, maybe, pairs)

    def thresholds(self) -> tuple[float, float]:
        """(say, maybe): this model's bands, else the defaults (an uncalibrated model)."""
        return (self.say if self.say is not None else DEFAULT_SAY,
                self.maybe if self.maybe is not None else DEFAULT_MAYBE)

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return softmax(np.asarray(logits, dtype=np.float64) / self.temperature)

    def predictions(self, logits: np.ndarray, class_ids: list[str], k: int = 3) -> list[Prediction]:
        """Logits -> best-first Predictions on calibrated probabilities, look-alikes marked."""
        preds = top_k(np.asarray(logits, dtype=np.float64) / self.temperature, class_ids, max(k, 2))
        out = []
        for p in preds:
            partner = p.top[1][0] if self.is_lookalike(p) and p.top[1][1] >= LOOKALIKE_SECOND else None
            out.append(Prediction(p.top[:k], partner))
        return out

    def is_lookalike(self, prediction: Prediction) -> bool:
        """Whether the best two candidates are a pair this model is known to confuse."""
        if len(prediction.top) < 2:
            return False
        return frozenset((prediction.top[0][0], prediction.top[1][0])) in self.lookalikes


def _band(value) -> float | None:
    return float(value) if isinstance(value, int | float) and 0.0 <= float(value) <= 1.0 else None


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of the top probability (equal-width bins)."""
    probs = np.asarray(probs)
    if len(probs) == 0:
        return 0.0
    conf = probs.max(1)
    right = probs.argmax(1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(conf[inside].mean() - right[inside].mean())
    return float(total)


def bands(probs: np.ndarray, labels: np.ndarray, say: float, maybe: float) -> dict:
    """Share of photos in each band (top probability >= say; >= maybe; below) and how often
    the top product is right there: what the announcer would say for single photos."""
    probs = np.asarray(probs)
    conf = probs.max(1) if len(probs) else np.zeros(0)
    right = probs.argmax(1) == np.asarray(labels) if len(probs) else np.zeros(0, bool)
    out = {}
    for name, mask in (("say", conf >= say), ("maybe", (conf >= maybe) & (conf < say)),
                       ("silent", conf < maybe)):
        n = int(mask.sum())
        out[name] = {"coverage": round(n / len(conf), 4) if len(conf) else 0.0,
                     "right": round(float(right[mask].mean()), 4) if n else None, "n": n}
    return out
