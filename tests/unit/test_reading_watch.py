"""Label words fused into recognition: the rule on synthetic scores, the watch that reads the
pack in view (the null text engine), and the live loop naming the product the pack's words
point to."""
from __future__ import annotations

from assistant.inference.checkpoint import load_checkpoint
from assistant.inference.prediction import Prediction
from assistant.reading import LabelReader, NullOcrEngine, TextBox
from assistant.reading.labels import LabelWords
from assistant.reading.watch import LabelWatch, fuse_prediction, open_watch
from tests.unit.pipeline_fakes import ColourClassifier, make, textured, wait_until

WORDS = LabelWords({"blue_milk": {"ekologisk": 1.0, "mellanmjolk": 1.0},
                    "red_sauce": {"tomat": 1.0, "krossade": 1.0},
                    "green_tea": {"gruntee": 1.0}})
UNSURE = Prediction([("red_sauce", 0.5), ("blue_milk", 0.4), ("green_tea", 0.1)], "blue_milk")


def box(text):
    return TextBox(text, 0.95, ((20, 20), (200, 20), (200, 60), (20, 60)))


def test_read_label_words_move_an_unsure_answer_to_their_product():
    fused = fuse_prediction(UNSURE, {"blue_milk": 1.0})
    assert fused.label == "blue_milk" and fused.score > 0.85
    assert abs(sum(p for _, p in fused.top) - 1.0) < 1e-9   # the candidates keep their share
    assert fused.lookalike is None                          # the pair was reordered by text


def test_no_words_read_or_words_of_no_candidate_change_nothing():
    assert fuse_prediction(UNSURE, {}) == UNSURE
    assert fuse_prediction(UNSURE, {"yellow_oil": 1.0}) == UNSURE
    sure = Prediction([("red_sauce", 0.97), ("blue_milk", 0.02), ("green_tea", 0.01)])
    assert fuse_prediction(sure, {"blue_milk": 0.5}).label == "red_sauce"  # text helps, not rules


def test_the_watch_keeps_what_it_read_for_its_photo_only_and_for_a_while():
    engine = NullOcrEngine([box("EKOLOGISK MELLANMJÖLK")])
    watch = LabelWatch(LabelReader(engine), WORDS, forget_after=3.0)
    frame = textured("red")
    assert watch.step(frame, appearance="a.jpg", now=100.0) == {"blue_milk": 1.0}
    assert watch.fuse(UNSURE, "a.jpg", now=101.0).label == "blue_milk"
    assert watch.fuse(UNSURE, "b.jpg", now=101.0).label == "red_sauce"   # another photo
    assert watch.fuse(UNSURE, "a.jpg", now=104.0).label == "red_sauce"   # read too long ago
    engine.boxes = [box("xq zz 7 %%")]                                     # nonsense on a pattern
    assert watch.step(frame, appearance="a.jpg", now=105.0) == {}
    assert watch.fuse(UNSURE, "a.jpg", now=105.5) == UNSURE


class UnsureColourClassifier(ColourClassifier):
    """Torn between red sauce and blue milk, as a model is between two packs of one shape."""

    def predict(self, rgb, k=3):
        self.calls += 1
        self.k = k
        return UNSURE


def test_the_live_loop_names_the_product_whose_words_are_on_the_pack(tiny_checkpoint):
    frames = [textured("red")] * 400
    classifier = UnsureColourClassifier(load_checkpoint(tiny_checkpoint))
    assistant, speaker, engine, events = make(tiny_checkpoint, frames, classifier=classifier)
    text = NullOcrEngine([box("Ekologisk mellanmjölk 1,5 %")])
    watch = LabelWatch(LabelReader(text), WORDS, period=0.01)
    assistant.set_label_watch(watch)
    assistant.start()
    try:
        assert wait_until(lambda: any(p["prediction"].label == "blue_milk"
                                      for p in events.of("prediction")))
        assert text.calls >= 1 and classifier.k == watch.k   # all candidates the text may move
        assert wait_until(lambda: "blue_milk" in [u["utterance"].class_id for u in events.of("utterance")
                                                  if u["utterance"].class_id])
        assert len(assistant.labels.ms) > 0
    finally:
        assistant.stop()
        speaker.close()
    assert watch._thread is None   # stopped with recognition


def test_a_model_without_label_words_gets_no_watch_and_a_missing_engine_none_either(monkeypatch):
    assert open_watch({"classes": []}) is None
    meta = {"classes": [{"id": "blue_milk", "names": {"en": "milk"}}],
            "label_words": {"blue_milk": {"ekologisk": 1.0}}}
    from assistant.reading import engine as engine_mod
    from assistant.reading.engine import OcrUnavailable

    def missing(name="auto"):
        raise OcrUnavailable("rapidocr-onnxruntime is not installed")
    monkeypatch.setattr(engine_mod, "open_engine", missing)
    assert open_watch(meta) is None
    monkeypatch.undo()
    watch = open_watch(meta, "none")
    assert watch is not None and watch.words.words == {"blue_milk": {"ekologisk": 1.0}}


def test_an_engine_that_fails_while_watching_stops_the_watch_and_says_why(tiny_checkpoint):
    classifier = UnsureColourClassifier(load_checkpoint(tiny_checkpoint))
    assistant, speaker, engine, events = make(tiny_checkpoint, [textured("red")] * 400,
                                              classifier=classifier)
    watch = LabelWatch(LabelReader(NullOcrEngine(error=RuntimeError("model file damaged"))),
                       WORDS, period=0.01)
    assistant.set_label_watch(watch)
    assistant.start()
    try:
        assert wait_until(lambda: watch.failed is not None)
        assert "model file damaged" in watch.failed
        seen = assistant.frames_classified
        assert wait_until(lambda: assistant.frames_classified > seen + 5)  # recognition goes on
        assert all(p["prediction"].label == "red_sauce" for p in events.of("prediction"))
        # the shopper hears why the pack's words are no longer read, once
        assert wait_until(lambda: [e for e in events.of("status") if e["status"] == "label_words_failed"])
        said = [e for e in events.of("status") if e["status"] == "label_words_failed"]
        assert len(said) == 1 and "model file damaged" in said[0]["words"]
        assert wait_until(lambda: any("model file damaged" in text for text, *_ in engine.spoken))
    finally:
        assistant.stop()
        speaker.close()
