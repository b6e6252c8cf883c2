"""Fit a model's calibration on held-out photos: temperature, announcer bands, look-alikes.

Used by train (validation photos), by every retrain (its held-out photos) and by
`evaluate --calibrate`; what is stored is read by assistant/inference/calibration.py.
"""
from __future__ import annotations

import numpy as np

from assistant.inference.calibration import bands, ece
from assistant.inference.prediction import softmax

#: what is said plainly must be right this often on held-out photos ...
SAY_PRECISION = 0.98
#: ... and, with 95% confidence, at least this often: the lower end of Wilson's interval,
#: counted on independent photos (bursts of near-twins count once, model.retrain.bursts), must
#: reach it. A threshold fitted on a few photos otherwise promises what it cannot hold (seen: a
#: band right 98.3% of the time on its held-out photos was right 80.2% on GroceryStore's val).
#: With no error at all that takes 52 independent photos in the band
SAY_BOUND = 0.95
#: one-sided 95%
Z_95 = 1.645
#: the say threshold when no band holds: never said as sure (a calibrated probability of 1)
NEVER_SURE = 1.0
#: "not sure, maybe X" is said when X is right at least this often in its band, and the
#: photos just above the band's floor are right at least MAYBE_SLICE of the time
MAYBE_PRECISION = 0.6
MAYBE_SLICE = 0.5
#: a pair is a look-alike when one is taken for the other this often (and
#: model.evaluate.LOOKALIKE_MIN times: the rule of the retrain report)
LOOKALIKE_RATE = 0.05
#: the bands are not moved below these (few photos make a tail estimate noisy)
MIN_SAY, MIN_MAYBE = 0.3, 0.15


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 that minimises the negative log-likelihood of softmax(logits / T)."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    if len(logits) == 0:
        return 1.0

    def nll(log_t: float) -> float:
        p = softmax(logits / np.exp(log_t)).astype(np.float64)
        return float(-np.log(np.clip(p[np.arange(len(labels)), labels], 1e-12, None)).mean())

    lo, hi = np.log(0.05), np.log(20.0)
    grid = np.linspace(lo, hi, 60)
    best = grid[int(np.argmin([nll(g) for g in grid]))]
    a, b = max(lo, best - 0.2), min(hi, best + 0.2)
    for _ in range(40):  # golden-section refinement around the best grid point
        c, d = b - 0.618 * (b - a), a + 0.618 * (b - a)
        if nll(c) < nll(d):
            b = d
        else:
            a = c
    return round(float(np.exp((a + b) / 2)), 4)


def lower_bound(right: float, n: float, z: float = Z_95) -> float:
    """Wilson's lower confidence bound of a share `right` measured on n independent trials."""
    if n <= 0:
        return 0.0
    centre = right + z * z / (2 * n)
    spread = z * np.sqrt(right * (1 - right) / n + z * z / (4 * n * n))
    return float((centre - spread) / (1 + z * z / n))


def choose_bands(probs: np.ndarray, labels: np.ndarray, say_precision: float = SAY_PRECISION,
                 maybe_precision: float = MAYBE_PRECISION, groups: np.ndarray | None = None,
                 say_bound: float = SAY_BOUND) -> tuple[float, float]:
    """(say, maybe): the lowest say threshold whose band is right >= say_precision and, with
    95% confidence, >= say_bound on its independent photos (groups: a burst id per photo, None:
    every photo its own), NEVER_SURE when none is; and the lowest maybe threshold whose band
    below it is right >= maybe_precision while the photos just above it are right at least
    half the time."""
    conf = np.asarray(probs).max(1)
    right = np.asarray(probs).argmax(1) == np.asarray(labels)
    groups = np.arange(len(conf)) if groups is None else np.asarray(groups)
    grid = np.round(np.arange(0.99, MIN_SAY - 1e-9, -0.01), 2)
    say = NEVER_SURE
    for t in grid:  # from high to low: stop where the band stops being right enough
        inside = conf >= t
        share = right[inside].mean() if inside.sum() else 0.0
        if inside.sum() >= 20 and share < say_precision:
            break
        if inside.sum() and share >= say_precision and \
                lower_bound(share, len(np.unique(groups[inside]))) >= say_bound:
            say = float(t)
    # maybe: go down while the photos just above each threshold (a slice 0.1 wide) are still
    # right at least half the time; below, a guess is worse than silence
    maybe = min(say, 0.99)
    for t in np.round(np.arange(maybe - 0.01, MIN_MAYBE - 1e-9, -0.01), 2):
        inside = (conf >= t) & (conf < t + 0.1)
        if inside.sum() >= 5 and right[inside].mean() < MAYBE_SLICE:
            break
        if ((conf >= t) & (conf < say)).sum() and right[(conf >= t) & (conf < say)].mean() >= maybe_precision:
            maybe = float(t)
    return say, min(maybe, say)


def lookalike_pairs(confusion: list[list[int]], classes: list[str]) -> list[list]:
    """[a, b, rate] for products taken for each other on held-out photos, each pair once at
    its worse direction, worst first."""
    from model.evaluate import LOOKALIKE_MIN, lookalikes
    index = {c: i for i, c in enumerate(classes)}
    found = lookalikes(confusion, classes, min_rate=LOOKALIKE_RATE, most=len(classes) ** 2,
                       min_count=LOOKALIKE_MIN)
    # pairs of equal rate keep the matrix's order (truth row, then column)
    ordered = sorted(found, key=lambda p: (index[p["truth"]], index[p["taken_for"]]))
    return _join([[p["truth"], p["taken_for"],
                   confusion[index[p["truth"]]][index[p["taken_for"]]] / sum(confusion[index[p["truth"]]])]
                  for p in ordered], [], classes)


def _confusion(logits: np.ndarray, labels: np.ndarray, classes: list[str]) -> list[list[int]]:
    import torch

    from model.evaluate import metrics
    return metrics(torch.from_numpy(logits), torch.from_numpy(labels), classes)["confusion"]


def calibrate(logits, labels, classes: list[str], source: str,
              thresholds: tuple[float, float] | None = None, thresholds_from: str = "",
              lookalikes: list | None = None, groups=None) -> dict:
    """The checkpoint's `calibration` entry, fitted on these held-out logits; with thresholds,
    the announcer's (say, maybe) are those (measured elsewhere: thresholds_from) and the ones
    fitted here are kept in `thresholds_from`; lookalikes ([a, b, rate], found elsewhere on the
    same recipe) are joined to the pairs found here; groups: a burst id per photo (the say band
    must hold on independent photos; None: each photo is one)."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    keep = labels >= 0
    logits, labels = logits[keep], labels[keep]
    groups = np.arange(len(labels)) if groups is None else np.asarray(groups)[keep]
    t = fit_temperature(logits, labels)
    raw, cal = softmax(logits), softmax(logits / t)
    say, maybe = fitted = choose_bands(cal, labels, groups=groups)
    if thresholds is not None:
        say, maybe = thresholds
    out = {"temperature": t, "say": say, "maybe": maybe,
           "lookalikes": _join(lookalike_pairs(_confusion(logits, labels, classes), classes),
                               lookalikes or [], classes),
           "ece_before": round(ece(raw, labels), 4), "ece_after": round(ece(cal, labels), 4),
           "bands": bands(cal, labels, say, maybe), "n": int(len(labels)), "photos": source,
           "independent": int(len(np.unique(groups))), "say_precision": SAY_PRECISION,
           "say_bound": SAY_BOUND}
    inside = cal.max(1) >= say
    if inside.any():  # what the say band holds to with 95% confidence, on independent photos
        share = float((cal.argmax(1)[inside] == labels[inside]).mean())
        out["bands"]["say"]["lower"] = round(lower_bound(share, len(np.unique(groups[inside]))), 4)
        out["bands"]["say"]["independent"] = int(len(np.unique(groups[inside])))
    if thresholds is not None:
        out["thresholds_from"] = {"say": fitted[0], "maybe": fitted[1], "fitted_here": source,
                                  "used": thresholds_from}
    return out


def _join(found: list, lent: list, classes: list[str]) -> list[list]:
    """Pairs found here and lent pairs of these products, each pair once at its worse rate."""
    pairs: dict[tuple[str, str], float] = {}
    for a, b, rate in [*found, *lent]:
        if a in classes and b in classes and a != b:
            key = tuple(sorted((a, b)))
            pairs[key] = max(pairs.get(key, 0.0), float(rate))
    return [[a, b, round(r, 3)] for (a, b), r in sorted(pairs.items(), key=lambda kv: -kv[1])]


def band_report(logits, labels, calibration: dict | None) -> dict:
    """bands + ece of these logits under a model's stored calibration (evaluate --json)."""
    from assistant.inference.calibration import Calibration
    cal = Calibration.from_meta({"calibration": calibration or {}})
    probs = cal.probabilities(np.asarray(logits))
    labels = np.asarray(labels)
    say, maybe = cal.thresholds()
    return {"bands": bands(probs, labels, say, maybe), "ece": round(ece(probs, labels), 4),
            "temperature": cal.temperature, "thresholds": {"say": say, "maybe": maybe}}
