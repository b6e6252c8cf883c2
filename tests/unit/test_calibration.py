"""Calibrated confidence: the temperature is fitted, stored and applied; the bands and the
look-alike pairs come from held-out photos; the announcer says both names of a look-alike."""
from __future__ import annotations

import numpy as np
import pytest

from assistant.inference.calibration import Calibration, bands, ece
from assistant.inference.prediction import Prediction, softmax
from assistant.live.announcer import Announcer, AnnouncerSettings
from model.calibrate import calibrate, choose_bands, fit_temperature, lookalike_pairs


def overconfident(n: int = 3000, classes: int = 6, true_t: float = 2.5, seed: int = 0,
                  spread: float = 4.0):
    """Logits whose labels were drawn from softmax(logits / true_t): the raw softmax is too sure."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, spread, size=(n, classes))
    p = softmax(logits / true_t).astype(np.float64)
    labels = np.array([rng.choice(classes, p=row / row.sum()) for row in p])
    return logits, labels


def test_the_fitted_temperature_recovers_the_true_one_and_lowers_the_error():
    logits, labels = overconfident()
    t = fit_temperature(logits, labels)
    assert 2.2 < t < 2.8
    before, after = ece(softmax(logits), labels), ece(softmax(logits / t), labels)
    assert after < before / 2 and after < 0.03


def test_bands_split_the_photos_and_say_how_often_each_is_right():
    probs = np.array([[0.95, 0.05], [0.9, 0.1], [0.6, 0.4], [0.55, 0.45], [0.52, 0.48]])
    labels = np.array([0, 0, 1, 0, 0])
    out = bands(probs, labels, say=0.8, maybe=0.55)
    assert out["say"] == {"coverage": 0.4, "right": 1.0, "n": 2}
    assert out["maybe"] == {"coverage": 0.4, "right": 0.5, "n": 2}
    assert out["silent"]["n"] == 1 and out["silent"]["right"] == 1.0


def test_chosen_say_band_is_right_98_percent_of_the_time():
    logits, labels = overconfident(seed=1, spread=10.0)
    t = fit_temperature(logits, labels)
    probs = softmax(logits / t)
    say, maybe = choose_bands(probs, labels)
    inside = probs.max(1) >= say
    assert (probs.argmax(1)[inside] == labels[inside]).mean() >= 0.98
    assert maybe <= say and inside.mean() > 0.1


def test_lookalikes_are_the_pairs_confused_often_enough():
    classes = ["oil", "vinegar", "milk"]
    confusion = [[40, 6, 0], [3, 30, 1], [0, 1, 50]]
    assert lookalike_pairs(confusion, classes) == [["oil", "vinegar", 0.13]]


def test_calibration_entry_round_trips_through_the_metadata():
    logits, labels = overconfident(classes=3, seed=2)
    entry = calibrate(logits, labels, ["a", "b", "c"], "val")
    cal = Calibration.from_meta({"calibration": entry})
    assert cal.temperature == pytest.approx(entry["temperature"])
    assert (cal.say, cal.maybe) == (entry["say"], entry["maybe"])
    assert entry["ece_after"] < entry["ece_before"]
    for nonsense in ({"temperature": float("nan")}, {"temperature": -1}, {"temperature": "hot"},
                     {"say": 0.2, "maybe": 0.5}, "not a dict"):
        odd = Calibration.from_meta({"calibration": nonsense})
        assert odd.temperature == 1.0 and odd.say is None


def test_classifiers_apply_the_stored_temperature(tiny_checkpoint, photo_dir):
    """Fails if the temperature is ignored: the scores must be softmax(logits / T)."""
    from assistant.inference import protocol
    from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
    from assistant.inference.classifier import Classifier
    from assistant.inference.onnx_backend import OnnxClassifier
    from assistant.inference.vision import load_image
    ckpt = load_checkpoint(tiny_checkpoint)
    meta = {k: v for k, v in ckpt.meta.items() if k != "weights_sha256"}
    meta["calibration"] = {"temperature": 0.2, "say": 0.9, "maybe": 0.5}  # sharpens a lot
    save_checkpoint(tiny_checkpoint, ckpt.state_dict, meta, half=False)
    photo = load_image(sorted(photo_dir.rglob("*.jpg"))[0])
    for clf in (Classifier(tiny_checkpoint, device="cpu"), OnnxClassifier(tiny_checkpoint)):
        logits = np.asarray(clf.logits(clf.preprocessing.batch([photo])))
        pred = clf.predict(photo, k=3)
        want = softmax(logits / 0.2)[0]
        assert pred.score == pytest.approx(float(want.max()), abs=1e-4)
        assert pred.score != pytest.approx(float(softmax(logits)[0].max()), abs=1e-3)
        assert (clf.calibration.say, clf.calibration.maybe) == (0.9, 0.5)
        # both runtimes answer the one interface the live flow and the window type them with
        assert isinstance(clf, protocol.Classifier), type(clf)
        assert clf.backend in ("torch", "onnx") and clf.device == "cpu"


def pred(label: str, score: float, other: str | None = None, partner: str | None = None) -> Prediction:
    second = other or ("milk" if label != "milk" else "juice")
    return Prediction([(label, score), (second, 1 - score)], partner)


def test_the_announcer_uses_the_models_own_bands_unless_switched_off():
    a = Announcer(AnnouncerSettings(say_threshold=0.45, maybe_threshold=0.3))
    a.set_model_bands(0.9, 0.6)
    assert a.observe(pred("oil", 0.8), 100, 100, 0.0) is None
    said = a.observe(pred("oil", 0.8), 100, 100, 0.1)
    assert said.kind == "maybe"  # 0.8 is below the model's 0.9: not said as sure
    b = Announcer(AnnouncerSettings(say_threshold=0.45, maybe_threshold=0.3, model_bands=False))
    b.set_model_bands(0.9, 0.6)
    b.observe(pred("oil", 0.8), 100, 100, 0.0)
    assert b.observe(pred("oil", 0.8), 100, 100, 0.1).kind == "product"


def test_a_lookalike_pair_is_said_with_both_names():
    from assistant.catalog import phrase
    a = Announcer(AnnouncerSettings(say_threshold=0.45, maybe_threshold=0.3))
    a.observe(pred("oil", 0.7, "vinegar", partner="vinegar"), 100, 100, 0.0)
    said = a.observe(pred("oil", 0.7, "vinegar", partner="vinegar"), 100, 100, 0.1)
    assert said.kind == "lookalike" and said.class_id == "oil" and said.other == "vinegar"
    assert phrase("lookalike", "en", name="oil", other="vinegar") == \
        "oil, or maybe vinegar. Turn the pack to the label."
    assert phrase("lookalike", "es", name="aceite", other="vinagre").startswith("aceite, o quizá vinagre")
    on_demand = Announcer().identify(pred("oil", 0.9, "vinegar", partner="vinegar"), 100, 100)
    assert on_demand.kind == "lookalike"


def test_only_a_known_pair_with_a_real_runner_up_is_a_lookalike():
    cal = Calibration(1.0, 0.9, 0.5, frozenset({frozenset({"oil", "vinegar"})}))
    ids = ["oil", "vinegar", "milk"]
    both = cal.predictions(np.log(np.array([[0.7, 0.25, 0.05]])), ids, k=1)[0]
    assert both.lookalike == "vinegar" and len(both.top) == 1
    other = cal.predictions(np.log(np.array([[0.6, 0.05, 0.35]])), ids)[0]
    assert other.lookalike is None  # milk is no known look-alike of oil


@pytest.mark.parametrize("second, named", [(0.049, False), (0.051, True), (0.02, False),
                                           (0.3, True)])
def test_the_runner_up_of_a_lookalike_pair_is_named_from_5_percent_on(second, named):
    """Vinegar is the runner-up each time (the pair holds); only its probability decides,
    on either side of the 5% floor (LOOKALIKE_SECOND)."""
    from assistant.inference.calibration import LOOKALIKE_SECOND
    assert LOOKALIKE_SECOND == 0.05
    cal = Calibration(1.0, 0.9, 0.5, frozenset({frozenset({"oil", "vinegar"})}))
    third = second / 2  # milk third: vinegar stays the runner-up
    p = cal.predictions(np.log(np.array([[1 - second - third, second, third]])),
                        ["oil", "vinegar", "milk"])[0]
    assert [c for c, _ in p.top[:2]] == ["oil", "vinegar"]
    assert p.lookalike == ("vinegar" if named else None)
