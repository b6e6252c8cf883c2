"""Every bundled model, on the app's runtime (ONNX Runtime on a CPU), names two real Freiburg
photos of every product as it did when they were chosen: tests/model/known_answers.csv lists
photos each bundled model named right, surely (tests/model/make_known_answers.py chose them).
Fifty photos a model: a broken model file, export, runtime or preprocessing shows here in the
default run, where the demo photos cover two products only. Skips without ../shared/data."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.helpers import shared_data

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted((ROOT / "model" / "bundled").glob("*.safetensors"))
KNOWN = Path(__file__).with_name("known_answers.csv")


def known_answers() -> list[tuple[str, str]]:
    with open(KNOWN, newline="") as fh:
        return [(row["photo"], row["product"]) for row in csv.DictReader(fh)]


def test_the_known_answers_cover_every_product_of_every_bundled_model():
    from assistant.inference.checkpoint import read_metadata
    answers = known_answers()
    products = {product for _, product in answers}
    assert len(answers) >= 35 and len(products) >= 20
    for path in BUNDLED:
        assert products <= {c["id"] for c in read_metadata(path)["classes"]}, path.name


@pytest.mark.data
@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_a_bundled_model_names_real_photos_of_every_product(path):
    from assistant.inference.onnx_backend import open_classifier
    from assistant.inference.vision import load_image
    freiburg = shared_data("freiburg")
    answers = known_answers()
    missing = [p for p, _ in answers if not (freiburg / p).is_file()]
    assert missing == [], f"photos of the list are not in {freiburg}: {missing[:5]}"
    clf = open_classifier(path, "auto", device="cpu")
    said = clf.predict_batch([load_image(freiburg / p) for p, _ in answers])
    wrong = [(p, product, pred.label) for (p, product), pred in zip(answers, said, strict=True)
             if pred.label != product]
    assert wrong == [], f"{path.stem} names {len(wrong)} of {len(answers)} photos otherwise: {wrong}"
