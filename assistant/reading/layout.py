"""From the engine's text boxes to what is said: nonsense dropped, boxes joined into lines,
the most prominent text first (large and central: the held pack's name before a shelf label
or a pack behind), each group in reading order, in short lines."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from assistant.reading.engine import TextBox

#: boxes the engine is less sure of than this are not read (its own cut is 0.5)
MIN_SCORE = 0.6
#: a line whose prominence is at least this share of the most prominent line's is part of the
#: main text (said first)
MAIN_SHARE = 0.5
#: the most words and characters in one spoken line; longer lines are cut
LINE_WORDS, LINE_CHARS = 6, 40
#: the most lines said for one reading (a shelf full of packs must not talk for a minute)
MAX_LINES = 12

_VOWELS = set("aeiouyàáâäåæèéêëìíîïòóôöøùúûüÿœ")
# letters of the Latin script (both languages, Swedish and German packs), digits, and the
# signs that belong on a label; anything else (the Chinese the recogniser knows too) is noise
_KEEP = re.compile(r"[^0-9A-Za-zÀ-ÖØ-öø-ÿŒœ%&.,:/\-'+ ]")


@dataclass(frozen=True)
class Line:
    """One line of text: its words, its height and centre in pixels, its prominence."""

    text: str
    top: float
    left: float
    height: float
    prominence: float


def clean(text: str) -> str:
    """The text with foreign scripts and stray signs removed, spaces collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = _KEEP.sub(" ", text)
    return " ".join(text.split()).strip(" .,:-/'")


def plausible(text: str) -> bool:
    """Whether text looks like words or figures a pack prints, not characters read from a
    pattern: enough letters or digits, words with vowels, not one sign over and over."""
    alnum = [c for c in text if c.isalnum()]
    if len(alnum) < 2 or len(alnum) < 0.5 * len(text.replace(" ", "")):
        return False
    tokens = text.split()
    if len(tokens) >= 3 and sum(len(t) for t in tokens) / len(tokens) < 2:
        return False  # "a a « = 2": single signs, the texture of a pattern
    for token in tokens:
        letters = [c.lower() for c in token if c.isalpha()]
        if len(letters) >= 4 and not _VOWELS.intersection(letters):
            return False
        if len(letters) >= 4 and max(letters.count(c) for c in set(letters)) > 0.6 * len(letters):
            return False
    return True


def usable_boxes(boxes: list[TextBox], min_score: float = MIN_SCORE) -> list[TextBox]:
    """The boxes worth reading, with their text cleaned."""
    kept = []
    for box in boxes:
        text = clean(box.text)
        if box.score >= min_score and text and plausible(text):
            kept.append(TextBox(text, box.score, box.box))
    return kept


def group_lines(boxes: list[TextBox], width: int, height: int) -> list[Line]:
    """Boxes side by side (their vertical middles within half a box height) become one line,
    left to right; lines come back top to bottom."""
    rows: list[list[TextBox]] = []
    for box in sorted(boxes, key=lambda b: b.centre[1]):
        for row in rows:
            ref = row[-1]
            if abs(ref.centre[1] - box.centre[1]) <= 0.5 * min(ref.height, box.height):
                row.append(box)
                break
        else:
            rows.append([box])
    lines = [_line(sorted(row, key=lambda b: b.centre[0]), width, height) for row in rows]
    return sorted(lines, key=lambda line: (line.top, line.left))


def _line(row: list[TextBox], width: int, height: int) -> Line:
    words: list[str] = []
    for word in " ".join(b.text for b in row).split():
        if not words or word.lower() != words[-1].lower():  # two faces of one pack: "alpro alpro"
            words.append(word)
    text = " ".join(words)
    tall = sum(b.height for b in row) / len(row)
    xs = [x for b in row for x, _ in b.box]
    ys = [y for b in row for _, y in b.box]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    # distance from the picture's middle, 0 (centre) to 1 (a corner)
    off = ((cx / max(width, 1) - 0.5) ** 2 + (cy / max(height, 1) - 0.5) ** 2) ** 0.5 / 0.7071
    confidence = sum(b.score for b in row) / len(row)
    # large letters near the middle are the held pack; small ones at the edge, the shelf
    prominence = (tall / max(height, 1)) * (1.0 - 0.6 * min(off, 1.0)) * confidence
    return Line(text, min(ys), min(xs), tall, prominence)


def order(lines: list[Line]) -> list[Line]:
    """The main text (lines at least MAIN_SHARE as prominent as the most prominent one) in
    reading order, then the rest in reading order."""
    if not lines:
        return []
    top = max(line.prominence for line in lines)
    main = [line for line in lines if line.prominence >= MAIN_SHARE * top]
    rest = [line for line in lines if line.prominence < MAIN_SHARE * top]
    return main + rest


def short_lines(texts: list[str]) -> list[str]:
    """Each text cut into spoken lines of at most LINE_WORDS words and LINE_CHARS characters."""
    out: list[str] = []
    for text in texts:
        current: list[str] = []
        for word in text.split():
            if current and (len(current) >= LINE_WORDS
                            or len(" ".join([*current, word])) > LINE_CHARS):
                out.append(" ".join(current))
                current = []
            current.append(word)
        if current:
            out.append(" ".join(current))
    return out


def read_lines(boxes: list[TextBox], width: int, height: int,
               max_lines: int | None = None) -> list[str]:
    """The lines read in one picture, most prominent first, in short lines (all of them, or
    the first max_lines)."""
    lines = order(group_lines(usable_boxes(boxes), width, height))
    return short_lines(_once([line.text for line in lines]))[:max_lines]


def _once(texts: list[str]) -> list[str]:
    """Each text once: a pack prints its name on every face, and two faces are often in view."""
    seen: set[str] = set()
    out = []
    for text in texts:
        key = text.lower()
        if key not in seen:
            seen.add(key)
            out.append(text)
    return out
