"""`retrain --label-words N`: read N of each product's teaching photos and store the words
that tell it from the others with the new model (metadata "label_words"), so the read key
names the exact product. Products not read again keep the base model's words."""
from __future__ import annotations

import logging

from assistant.reading import OcrUnavailable, open_reader
from assistant.reading.labels import learn

log = logging.getLogger(__name__)


def learn_label_words(base, plan, per_product: int, reader=None) -> dict:
    """product id -> {word: weight}, learnt from up to per_product training photos of each
    product in the plan (spread over its photos); {} without a text engine (said in the log)."""
    if reader is None:
        reader, why = open_reader()
        if reader is None:
            log.warning("no label words: %s", why)
            return _kept(base, plan, set())
    photos: dict[str, list] = {}
    for path, index in plan.train:
        photos.setdefault(plan.classes[index], []).append(path)
    readings: dict[str, list[list[str]]] = {}
    try:
        for pid, files in photos.items():
            step = max(1, len(files) // per_product)
            readings[pid] = [_lines(reader, f) for f in files[::step][:per_product]]
    except OcrUnavailable as exc:
        log.warning("no label words: %s", exc)
        return _kept(base, plan, set())
    learnt = learn(readings).to_dict()
    return {**_kept(base, plan, set(learnt)), **learnt}


def _lines(reader, path) -> list[str]:
    try:
        return reader.read_photo(path).lines
    except OcrUnavailable:
        raise
    except Exception as exc:  # one unreadable photo costs its words only
        log.warning("label words: cannot read %s: %s", path, exc)
        return []


def _kept(base, plan, learnt: set[str]) -> dict:
    """The base model's label words of the plan's products that were not read again."""
    old = base.meta.get("label_words") or {}
    return {pid: words for pid, words in old.items() if pid in plan.classes and pid not in learnt}
