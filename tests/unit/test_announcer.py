"""The announcer's policy: votes, confidence bands, no repeats, re-announcing, hints."""
from __future__ import annotations

import pytest

from assistant.inference.prediction import Prediction
from assistant.live.announcer import Announcer, AnnouncerSettings, Utterance

OK_LIGHT, OK_SHARP = 120.0, 300.0
DT = 0.1     # seconds between classified frames


def pred(label: str, score: float) -> Prediction:
    return Prediction([(label, score), ("other", round(1.0 - score, 3))])


def feed(announcer: Announcer, frames, start: float = 0.0, light: float = OK_LIGHT,
         sharp: float = OK_SHARP) -> tuple[list[tuple[float, Utterance]], float]:
    """Feed (label, score) frames (None: nothing confident) DT apart; returns what was said."""
    said, now = [], start
    for frame in frames:
        p = pred(*frame) if frame else pred("other", 0.1)
        u = announcer.observe(p, light, sharp, now)
        if u is not None:
            said.append((now, u))
        now += DT
    return said, now


def kinds(said) -> list[tuple[str, str | None]]:
    return [(u.kind, u.class_id or u.message_id) for _, u in said]


def test_one_confident_frame_is_not_enough_but_a_majority_is():
    a = Announcer(AnnouncerSettings(window=5, agreement=3))
    said, _ = feed(a, [("milk", 0.9), ("juice", 0.9), ("milk", 0.9), ("milk", 0.9)])
    assert said and said[0][0] == pytest.approx(3 * DT)   # the third milk vote, not the first
    assert kinds(said) == [("product", "milk")]


def test_flickering_predictions_never_speak_a_product():
    a = Announcer(AnnouncerSettings(window=5, agreement=3, hint_after=100))
    said, _ = feed(a, [("milk", 0.9), ("juice", 0.9), ("tea", 0.9)] * 20)
    assert said == []


@pytest.mark.parametrize("score, expected", [(0.9, "product"), (0.45, "maybe"), (0.2, None)])
def test_three_confidence_bands(score, expected):
    s = AnnouncerSettings(say_threshold=0.6, maybe_threshold=0.35, hint_after=100)
    said, _ = feed(Announcer(s), [("milk", score)] * 10)
    if expected is None:
        assert said == []
    else:
        assert kinds(said)[0][0] == expected
        u = said[0][1]
        assert u.class_id == "milk"
        assert u.message_id == ("not_sure_maybe" if expected == "maybe" else None)
        assert u.ident == "milk"


def test_the_band_uses_the_mean_of_the_agreeing_votes():
    s = AnnouncerSettings(window=3, agreement=3, say_threshold=0.6, maybe_threshold=0.35)
    said, _ = feed(Announcer(s), [("milk", 0.95), ("milk", 0.4), ("milk", 0.4)])
    assert kinds(said) == [("maybe", "milk")]     # mean 0.58 < 0.6 although one frame was sure


def test_a_product_in_view_is_said_once():
    said, _ = feed(Announcer(), [("milk", 0.9)] * 300)      # 30 seconds in view
    assert kinds(said) == [("product", "milk")]


def test_maybe_becomes_the_plain_name_once_when_it_gets_sure():
    a = Announcer(AnnouncerSettings(say_threshold=0.6, maybe_threshold=0.35))
    said, _ = feed(a, [("milk", 0.45)] * 10 + [("milk", 0.9)] * 30)
    assert kinds(said) == [("maybe", "milk"), ("product", "milk")]


def test_announced_again_after_leaving_and_coming_back():
    s = AnnouncerSettings(leave_after=1.0, hint_after=100)
    a = Announcer(s)
    said, now = feed(a, [("milk", 0.9)] * 10)
    gone, now = feed(a, [None] * 15, start=now)          # 1.5 s away > leave_after
    back, _ = feed(a, [("milk", 0.9)] * 10, start=now)
    assert kinds(said) == kinds(back) == [("product", "milk")]
    assert gone == []


def test_a_brief_occlusion_is_not_leaving():
    a = Announcer(AnnouncerSettings(leave_after=1.0))
    said, now = feed(a, [("milk", 0.9)] * 10)
    more, now = feed(a, [None] * 5 + [("milk", 0.9)] * 10, start=now)   # 0.5 s hidden
    assert kinds(said) == [("product", "milk")] and more == []


def test_a_different_product_is_announced_at_once():
    said, _ = feed(Announcer(), [("milk", 0.9)] * 10 + [("juice", 0.9)] * 10)
    assert kinds(said) == [("product", "milk"), ("product", "juice")]


@pytest.mark.parametrize("light, sharp, hint", [(10.0, OK_SHARP, "too_dark"),
                                                (OK_LIGHT, 2.0, "too_blurred")])
def test_dark_or_blurred_pictures_do_not_vote_and_get_a_rate_limited_hint(light, sharp, hint):
    s = AnnouncerSettings(dark_level=40, blur_level=20, hint_after=2.0, hint_interval=10.0)
    a = Announcer(s)
    said, _ = feed(a, [("milk", 0.99)] * 250, light=light, sharp=sharp)     # 25 s
    assert {k for k, _ in kinds(said)} == {"hint"}          # never the (confident) product
    assert [m for _, m in kinds(said)] == [hint] * 3
    times = [t for t, _ in said]
    assert times[0] == pytest.approx(2.0, abs=DT + 1e-9)
    assert all(b - a >= 10.0 - 1e-9 for a, b in zip(times, times[1:], strict=False))


def test_nothing_in_view_hint():
    a = Announcer(AnnouncerSettings(hint_after=2.0, hint_interval=10.0))
    said, _ = feed(a, [None] * 35)
    assert kinds(said) == [("hint", "nothing_in_view")]


def test_a_problem_shorter_than_hint_after_is_not_spoken():
    a = Announcer(AnnouncerSettings(hint_after=2.0))
    said, now = feed(a, [None] * 15)                       # 1.5 s of nothing
    said2, _ = feed(a, [("milk", 0.9)] * 5, start=now)
    assert kinds(said + said2) == [("product", "milk")]


def test_no_hints_while_a_product_is_in_view():
    a = Announcer(AnnouncerSettings(hint_after=0.5, hint_interval=0.0, leave_after=5.0))
    said, now = feed(a, [("milk", 0.9)] * 5)
    more, _ = feed(a, [None] * 30, start=now)              # 3 s < leave_after
    assert kinds(said) == [("product", "milk")] and more == []


def test_identify_always_answers():
    a = Announcer(AnnouncerSettings(say_threshold=0.6, maybe_threshold=0.35))
    assert a.identify(pred("milk", 0.9), OK_LIGHT, OK_SHARP) == Utterance("product", "milk", None, 0.9)
    maybe = a.identify(pred("tea", 0.5), OK_LIGHT, OK_SHARP)
    assert (maybe.kind, maybe.class_id, maybe.message_id) == ("maybe", "tea", "not_sure_maybe")
    assert a.identify(pred("tea", 0.1), OK_LIGHT, OK_SHARP).message_id == "nothing_recognised"
    assert a.identify(pred("tea", 0.9), 5.0, OK_SHARP).message_id == "too_dark"
    assert a.identify(pred("tea", 0.9), OK_LIGHT, 1.0).message_id == "too_blurred"
    assert a.identify(None, OK_LIGHT, OK_SHARP).message_id == "no_picture"


def test_continuous_mode_does_not_repeat_what_identify_just_said():
    a = Announcer()
    a.identify(pred("milk", 0.9), OK_LIGHT, OK_SHARP)
    said, _ = feed(a, [("milk", 0.9)] * 10)
    assert said == []


def test_reset_forgets_what_is_in_view():
    a = Announcer()
    feed(a, [("milk", 0.9)] * 10)
    assert a.in_view == "milk"
    a.reset()
    assert a.in_view is None
    said, _ = feed(a, [("milk", 0.9)] * 10, start=100.0)
    assert kinds(said) == [("product", "milk")]


@pytest.mark.parametrize("bad", [dict(maybe_threshold=0.8, say_threshold=0.5),
                                 dict(window=3, agreement=4), dict(agreement=0),
                                 dict(hint_interval=-1.0)])
def test_contradictory_settings_are_refused(bad):
    with pytest.raises(ValueError):
        Announcer(AnnouncerSettings(**bad))


def test_on_a_slow_machine_one_misread_frame_is_not_leaving():
    a = Announcer(AnnouncerSettings(leave_after=1.0, window=5, agreement=3))
    frames = [("milk", 0.9)] * 4 + [("tea", 0.9)] + [("milk", 0.9)] * 4
    said, now = [], 0.0
    for label, score in frames:                   # one frame every 1.5 s
        u = a.observe(pred(label, score), OK_LIGHT, OK_SHARP, now)
        said += [u] if u else []
        now += 1.5
    assert [(u.kind, u.class_id) for u in said] == [("product", "milk")]


# --- look-alikes and the model's own bands -------------------------------------------------------

def twin(label: str, score: float, partner: str | None = "vinegar") -> Prediction:
    """A frame whose best two are a known look-alike pair (partner named by the calibration)."""
    return Prediction([(label, score), (partner or "milk", round(1.0 - score, 3))], partner)


def observe_all(a: Announcer, frames: list[Prediction]) -> list[Utterance]:
    said = [a.observe(p, OK_LIGHT, OK_SHARP, i * DT) for i, p in enumerate(frames)]
    return [u for u in said if u is not None]


def test_a_lookalike_is_said_with_both_names_when_most_votes_name_the_pair():
    a = Announcer(AnnouncerSettings(window=3, agreement=2, say_threshold=0.6, maybe_threshold=0.3))
    said = observe_all(a, [twin("oil", 0.8), twin("oil", 0.8)])
    assert [(u.kind, u.class_id, u.other, u.message_id) for u in said] == [
        ("lookalike", "oil", "vinegar", "lookalike")]


def test_one_lookalike_vote_among_plain_ones_says_the_plain_name():
    a = Announcer(AnnouncerSettings(window=3, agreement=3, say_threshold=0.6, maybe_threshold=0.3))
    said = observe_all(a, [twin("oil", 0.8), twin("oil", 0.8, None), twin("oil", 0.8, None)])
    assert [(u.kind, u.class_id, u.other) for u in said] == [("product", "oil", None)]


def test_an_unsure_lookalike_is_said_as_maybe_without_the_second_name():
    a = Announcer(AnnouncerSettings(window=3, agreement=2, say_threshold=0.6, maybe_threshold=0.3))
    said = observe_all(a, [twin("oil", 0.45), twin("oil", 0.45)])
    assert [(u.kind, u.class_id, u.other, u.message_id) for u in said] == [
        ("maybe", "oil", None, "not_sure_maybe")]
    on_demand = Announcer(AnnouncerSettings(say_threshold=0.6, maybe_threshold=0.3))
    assert on_demand.identify(twin("oil", 0.45), OK_LIGHT, OK_SHARP).kind == "maybe"
    assert on_demand.identify(twin("oil", 0.7), OK_LIGHT, OK_SHARP).other == "vinegar"


@pytest.mark.parametrize("score, kind", [(0.95, "product"), (0.85, "maybe"), (0.65, "maybe"),
                                         (0.55, None)])
def test_the_models_bands_replace_the_settings_thresholds(score, kind):
    """Settings say >= 0.45 / maybe >= 0.3; the model's own bands (0.9 / 0.6) win."""
    a = Announcer(AnnouncerSettings(say_threshold=0.45, maybe_threshold=0.3, hint_after=100))
    a.set_model_bands(0.9, 0.6)
    assert (a.say_threshold, a.maybe_threshold) == (0.9, 0.6)
    said, _ = feed(a, [("milk", score)] * 5)
    assert [k for k, _ in kinds(said)] == ([kind] if kind else [])


def test_the_settings_thresholds_hold_without_model_bands_or_when_switched_off():
    on = Announcer(AnnouncerSettings(say_threshold=0.45, maybe_threshold=0.3))
    on.set_model_bands(None, None)                   # a model without bands of its own
    assert (on.say_threshold, on.maybe_threshold) == (0.45, 0.3)
    on.set_model_bands(0.5, 0.8)                     # contradictory bands are ignored
    assert (on.say_threshold, on.maybe_threshold) == (0.45, 0.3)
    off = Announcer(AnnouncerSettings(say_threshold=0.45, maybe_threshold=0.3, model_bands=False))
    off.set_model_bands(0.9, 0.6)
    assert (off.say_threshold, off.maybe_threshold) == (0.45, 0.3)
    said, _ = feed(off, [("milk", 0.5)] * 5)
    assert kinds(said) == [("product", "milk")]
