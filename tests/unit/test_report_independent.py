"""The report and `models list` say how many independent photos (bursts of near-identical
shots counted once) a retrain's figure rests on, in English and in Spanish (issue 29)."""
from __future__ import annotations

import re
from pathlib import Path

from assistant.store.models import ModelVersion, independent_photos
from model.models_cli import list_models
from model.retrain.report import Comparison, RetrainReport

ENGLISH = re.compile(r"\b(the|photos|bursts|independent|sure|right|checked)\b", re.I)


def report() -> RetrainReport:
    r = RetrainReport("fast", ["oil", "vinegar"], ["oil", "vinegar"], ["vinegar"], [],
                      {"n": 40, "top1": 0.8, "top3": 1.0, "per_class": {"oil": 0.7, "vinegar": 0.9},
                       "counts": {"oil": 20, "vinegar": 20}, "independent": 12,
                       "top1_low": 0.61, "top1_high": 0.91},
                      Comparison("unknown", None, None, 0), [], 120, twins_only=["vinegar"])
    r.bands = {"say": {"n": 30, "coverage": 0.75, "right": 0.97, "lower": 0.9, "independent": 9},
               "maybe": {"n": 6, "coverage": 0.15, "right": 0.5}, "silent": {"coverage": 0.1}}
    r.spoken = {"en": ["oil", "vinegar"], "es": ["aceite", "vinagre"]}
    return r


def test_the_report_says_what_its_figure_rests_on_in_both_languages():
    r = report()
    en, es = r.summary_lines("en"), r.summary_lines("es")
    assert any("12 independent photos" in line and "between 61% and 91%" in line for line in en)
    assert any("12 fotos independientes" in line and "entre 61% y 91%" in line for line in es)
    assert any("at least 90%" in line and "9 independent photos" in line for line in en)
    assert any("vinegar" in line and "twins" in line for line in en)
    assert any("vinagre" in line and "gemelas" in line for line in es)
    assert len(en) == len(es)
    for line in es:
        assert not ENGLISH.search(line), line


def test_a_band_that_holds_nowhere_is_said_as_never_sure():
    r = report()
    r.bands = {"say": {"n": 0, "coverage": 0.0, "right": None},
               "maybe": {"n": 30, "coverage": 0.75, "right": 0.8}, "silent": {"coverage": 0.25}}
    assert any("never says a product as sure" in line for line in r.summary_lines("en"))
    assert any("nunca dice un producto con seguridad" in line for line in r.summary_lines("es"))


def test_models_list_shows_the_independent_photos_in_the_interface_language(capsys):
    meta = {"metrics": {"heldout": {"top1": 0.72, "n": 300, "independent": 141}}}
    assert independent_photos(meta) == (300, 141)
    for odd in ({"metrics": {"heldout": {"n": 300}}}, {"metrics": {"heldout": {"n": 3, "independent": 9}}},
                {"metrics": {"heldout": "broken"}}, {}):
        assert independent_photos(odd) is None
    versions = [ModelVersion(Path("a.safetensors"), "fast retrain", "", 106, 0.72, True, False,
                             "held-out, 300 photos", (300, 141)),
                ModelVersion(Path("b.safetensors"), "bundled", "", 25, 0.9, False, True, "test")]
    list_models(versions, "en")
    english = capsys.readouterr().out
    assert "rests on 141 independent photos: 300 held-out photos" in english
    assert english.count("independent") == 1  # the bundled model's figure was not counted so
    list_models(versions, "es")
    assert "se apoya en 141 fotos independientes: 300 fotos reservadas" in capsys.readouterr().out


def test_photos_checked_on_twins_are_left_out_of_the_figures_and_the_calibration():
    """A product whose photos are all one burst is checked on twins of its training photos: named
    right from memory. Its photos get a figure of their own; the headline, the taught products'
    figure and the sure band rest on the others (all of them when there are no others)."""
    import torch

    from model.retrain.report import measured
    classes = ["oil", "vinegar", "jam"]
    labels = torch.tensor([0] * 10 + [1] * 10 + [2] * 10)
    logits = torch.full((30, 3), -2.0)
    guess = labels.clone()
    guess[[0, 2, 4, 6, 8, 10, 12, 14, 16, 18]] = 2   # oil and vinegar: half wrong
    logits[torch.arange(30), guess] = 2.0             # jam (the twins): always right
    groups = list(range(30))
    held, calibration, counted = measured(logits, labels, classes, groups, {1, 2}, ["jam"])
    assert counted.tolist() == [True] * 20 + [False] * 10
    assert held["n"] == 20 and held["top1"] == 0.5 and held["independent"] == 20
    assert held["twins"] == {"n": 10, "top1": 1.0}
    assert held["taught"]["n"] == 10 and held["taught"]["top1"] == 0.5   # vinegar alone
    assert calibration["n"] == 20 and calibration["independent"] == 20  # fitted on the 20 alone
    every, _, counted = measured(logits, labels, classes, groups, {0, 1, 2}, [])
    assert every["n"] == 30 and "twins" not in every and bool(counted.all())
    alone, _, counted = measured(logits[20:], labels[20:], classes, groups[20:], {2}, ["jam"])
    assert alone["n"] == 10 and alone["top1"] == 1.0 and bool(counted.all())  # nothing else to count


def test_the_report_says_the_twins_photos_are_not_counted():
    r = report()
    r.heldout["twins"] = {"n": 6, "top1": 1.0}
    en, es = r.summary_lines("en"), r.summary_lines("es")
    assert any("6 held-out photos are not counted" in line and "100%" in line and "vinegar" in line
               for line in en)
    assert not any("may be too high" in line for line in en)
    assert any("6 fotos reservadas no cuentan" in line and "vinagre" in line for line in es)
