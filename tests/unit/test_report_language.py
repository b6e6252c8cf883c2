"""The retrain report speaks the interface's language: every sentence of it, the look-alikes and
the comparison too, comes from the one catalogue (a Spanish maintainer saw English before)."""
from __future__ import annotations

import re

from model.retrain.report import Comparison, RetrainReport

ENGLISH = re.compile(r"\b(the|photos|model|taken|held-out|accuracy|right|wrong|sure|skipped)\b", re.I)


def report() -> RetrainReport:
    comparison = Comparison("worse", 0.9, 0.8, 40, "English note", sure_wrong_current=1,
                            sure_wrong_new=6, only_current=7, only_new=2, more_sure_wrong=True,
                            basis="shared")
    r = RetrainReport("fast", ["oil", "vinegar"], ["oil", "vinegar"], ["vinegar"], [],
                      {"n": 40, "top1": 0.8, "top3": 1.0, "per_class": {"oil": 0.7, "vinegar": 0.9},
                       "counts": {"oil": 20, "vinegar": 20}}, comparison,
                      [{"truth": "oil", "taken_for": "vinegar", "rate": 0.3}], 120,
                      skipped=[("a.jpg", "unreadable")], old_checked=False, old_heldout_unseen=False)
    r.bands = {"say": {"n": 30, "coverage": 0.75, "right": 0.97},
               "maybe": {"n": 6, "coverage": 0.15, "right": 0.5}, "silent": {"coverage": 0.1}}
    r.spoken = {"en": ["oil", "vinegar"], "es": ["aceite", "vinagre"]}
    return r


def test_the_spanish_report_holds_no_english_sentence():
    r = report()
    lines = r.summary_lines("es") + r.per_product_lines("es")
    assert len(lines) == 11
    for line in lines:
        assert not ENGLISH.search(line.replace("--base-data", "")), line
    assert "Aceite se confunde con vinagre el 30% de las veces." in lines
    assert any("aceite (20 fotos)" in line for line in lines)
    assert r.lookalike_sentences("es") == ["Aceite se confunde con vinagre el 30% de las veces."]


def test_the_english_report_says_the_same_in_english():
    r = report()
    english = r.summary_lines("en")
    assert "Oil is taken for vinegar 30% of the time." in english
    assert any("7 are right only with the model in use and 2 only with the new one" in s for s in english)
    assert any("clearly more wrong products as sure" in s for s in english)
    assert len(english) == len(r.summary_lines("es"))
