"""Label words: the words printed on one product's packs that tell it from the others, learnt
from the photos it is taught with, matched against what is read, and fused with the
classifier's probabilities.

The fusion rule: p'(c) is proportional to p(c) * exp(WEIGHT * m(c)), where m(c) (0 to 1) is
the weighted share of c's label words found in the text read. A product whose words are not
read keeps its odds against the others that are not read either; text that matches nothing
(or nonsense, which the layout rules drop before) changes nothing.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

#: how strongly read label words move the classifier's probabilities (exp(3) = 20 times the
#: odds for a product whose every label word was read)
WEIGHT = 3.0
#: a word is a label word of a product when it is read on at least this share of its photos
MIN_SHARE = 0.3
#: ... and on fewer than this share of all products (words on every pack tell nothing)
MAX_PRODUCT_SHARE = 0.5
#: the most label words kept per product
MAX_WORDS = 12
#: words of at least this many letters match one letter off
NEAR_LETTERS = 5
#: a product is named from its label alone when at least this share of its words is read and
#: no other product comes within MARGIN of it
MIN_MATCH, MARGIN = 0.5, 0.25


@dataclass(frozen=True)
class LabelWords:
    """Each product's label words with their weights (how often read on its photos, times how
    rare the word is among the products)."""

    words: dict[str, dict[str, float]]

    def to_dict(self) -> dict[str, dict[str, float]]:
        return {pid: dict(ws) for pid, ws in self.words.items()}

    @classmethod
    def from_dict(cls, data: dict) -> LabelWords:
        return cls({str(pid): {str(w): float(v) for w, v in ws.items()}
                    for pid, ws in (data or {}).items()})


#: digits the recogniser reads for letters inside a word ("0atly", "A1pro", "Va1io")
_LOOKALIKE_DIGITS = str.maketrans("0156", "olsg")


def fold(text: str) -> str:
    """Lower case without accents ("MJÖLK" and the "MJOLK" read off a glossy pack are one
    word), with the digits of a word that has letters read as the letters they look like."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(w.translate(_LOOKALIKE_DIGITS) if sum(c.isalpha() for c in w) >= 2 else w
                    for w in text.split())


def tokens(lines: list[str]) -> set[str]:
    """The words of the lines, folded, letters only, three letters or more."""
    return set(re.findall(r"[^\W\d_]{3,}", fold(" ".join(lines))))


def joined(lines: list[str]) -> set[str]:
    """Two or three neighbouring words run together, within a line and across lines: a name
    printed over two or three lines or split by a logo ("OAT" / "LY!", "GOD" / "MOR" / "GON")
    is read as separate boxes."""
    words = re.findall(r"[^\W\d_]+", fold(" ".join(lines)))
    out = set()
    for size in (2, 3):
        out.update("".join(words[i:i + size]) for i in range(len(words) - size + 1))
    return {w for w in out if len(w) >= 4}


def learn(readings: dict[str, list[list[str]]]) -> LabelWords:
    """Label words from product id -> the lines read on each of its photos."""
    share: dict[str, dict[str, float]] = {}
    for pid, photos in readings.items():
        counts = Counter(w for lines in photos for w in tokens(lines))
        share[pid] = {w: n / max(len(photos), 1) for w, n in counts.items()}
    products = max(len(share), 1)
    spread = Counter(w for ws in share.values() for w, s in ws.items() if s >= MIN_SHARE)
    words: dict[str, dict[str, float]] = {}
    for pid, ws in share.items():
        scored = {w: s * math.log(1 + products / spread[w]) for w, s in ws.items()
                  if s >= MIN_SHARE and spread[w] / products < MAX_PRODUCT_SHARE}
        best = sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_WORDS]
        words[pid] = {w: round(v, 4) for w, v in best}
    return LabelWords(words)


def read_in(word: str, lines: list[str]) -> bool:
    """Whether word (a brand, a label word) is among what was read, as match() counts it."""
    key = "".join(re.findall(r"[^\W\d_]+", fold(word)))  # "God-Morgon" is read "GOD MORGON"
    return near(key, tokens(lines) | joined(lines))


def near(word: str, found: set[str]) -> bool:
    """word among found, at the start of a word found (Swedish runs words together:
    "ARLAGÅRDAR", "HAVREDRYCK"), or one letter off for words of NEAR_LETTERS letters or more
    ("Arlo")."""
    if word in found or (len(word) >= 4 and any(f.startswith(word) for f in found)):
        return True
    return len(word) >= NEAR_LETTERS and any(abs(len(f) - len(word)) <= 1 and distance(word, f) <= 1
                                  for f in found)


def distance(a: str, b: str) -> int:
    """Levenshtein distance."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def ranked(words: dict[str, float]) -> list[str]:
    """A product's label words, the strongest first (ties in alphabetical order)."""
    return [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))]


def match(lines: list[str], label_words: LabelWords) -> dict[str, float]:
    """product id -> the weighted share (0-1) of its label words found in the lines."""
    found = tokens(lines) | joined(lines)
    out = {}
    for pid, ws in label_words.words.items():
        total = sum(ws.values())
        if total > 0:
            out[pid] = sum(v for w, v in ws.items() if near(w, found)) / total
    return out


def fuse(probabilities: dict[str, float], matches: dict[str, float],
         weight: float = WEIGHT) -> dict[str, float]:
    """The classifier's probabilities with the label words read fused in (sums to 1)."""
    scored = {c: p * math.exp(weight * matches.get(c, 0.0)) for c, p in probabilities.items()}
    total = sum(scored.values())
    if total <= 0:
        return dict(probabilities)
    return {c: s / total for c, s in scored.items()}


def named_product(matches: dict[str, float]) -> str | None:
    """The product the label alone names (its words read, no rival close), or None."""
    ranked = sorted(matches.items(), key=lambda kv: -kv[1])
    if not ranked or ranked[0][1] < MIN_MATCH:
        return None
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < MARGIN:
        return None
    return ranked[0][0]
