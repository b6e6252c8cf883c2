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
