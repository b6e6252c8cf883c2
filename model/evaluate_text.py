"""`evaluate --text`: the model's top-1 with the label words read on each photo fused into its
answers (assistant.reading.labels.fuse, the rule the live loop uses), beside its top-1 alone."""
from __future__ import annotations

import logging
import statistics

import numpy as np

from assistant.errors import UserError
from assistant.reading.labels import LabelWords, fuse, match

log = logging.getLogger(__name__)


def read_photos(reader, paths: list[str]) -> tuple[list[list[str]], list[float]]:
    """The lines read on each photo (none for one that cannot be read) and ms per read."""
    lines, ms = [], []
    for path in paths:
        try:
            reading = reader.read_photo(path)
        except Exception as exc:  # one odd photo costs its text only
            log.warning("evaluate --text: cannot read %s: %s", path, exc)
            lines.append([])
            continue
        lines.append(reading.lines)
        ms.append(reading.ms)
    return lines, ms


def fused_top1(probabilities: np.ndarray, labels: np.ndarray, lines: list[list[str]],
               words: LabelWords, classes: list[str]) -> float:
    """Top-1 of the N x C probabilities once each photo's read label words are fused in."""
    right = 0
    for row, label, read in zip(probabilities, labels, lines, strict=True):
        fused = fuse(dict(zip(classes, row.tolist(), strict=True)), match(read, words))
        right += max(fused, key=fused.get) == classes[int(label)]
    return right / max(len(labels), 1)


def text_figures(meta: dict, probabilities: np.ndarray, labels: np.ndarray, paths: list[str],
                 reader=None) -> dict:
    """{"top1_text", "text_photos", "text_ms_median", "label_words"} for a model whose metadata
    holds label words; UserError (one line) for one without, or without a text engine."""
    from assistant.reading.reader import open_reader
    words = label_words_of(meta)
    if reader is None:
        reader, why = open_reader(meta=meta)
        if reader is None:
            raise UserError(f"--text: no text engine ({why})")
    lines, ms = read_photos(reader, paths)
    return {"top1_text": fused_top1(probabilities, labels, lines, words, _class_ids(meta)),
            "text_photos": sum(bool(x) for x in lines),
            "text_ms_median": round(statistics.median(ms), 1) if ms else None,
            "label_words": sum(bool(ws) for ws in words.words.values())}


def label_words_of(meta: dict) -> LabelWords:
    """The model's label words; UserError (one line) for a model without them."""
    from assistant.reading.reader import labels_of
    words, _names = labels_of(meta)
    if words is None or not any(words.words.values()):
        raise UserError("--text: this model has no label words (retrain it with --label-words N)")
    return words


def _class_ids(meta: dict) -> list[str]:
    return [c["id"] for c in meta["classes"]]
