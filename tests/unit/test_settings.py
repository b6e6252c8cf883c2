"""Settings survive restarts, and a damaged file never stops the app; the phrase catalogue."""
from __future__ import annotations

import json
import logging

import pytest

from assistant import catalog, paths
from assistant.inference.checkpoint import load_checkpoint
from assistant.live.announcer import AnnouncerSettings
from assistant.live.settings import Settings, load


def test_missing_file_gives_defaults():
    assert not paths.settings_file().exists()
    assert load() == Settings()


def test_save_and_load_round_trip_atomically():
    s = Settings(language="es", voice="es-419", rate=220, volume=0.4, camera="/videos/shelf.mp4",
                 continuous=False, model_path="/m.safetensors", shortcuts={"identify": "Ctrl+I"},
                 announcer=AnnouncerSettings(say_threshold=0.7, maybe_threshold=0.4))
    path = s.save()
    assert path == paths.settings_file()
    assert load() == s
    assert [p.name for p in path.parent.iterdir()] == ["settings.json"]   # no temp left over
    assert Settings(camera=2).save() and load().camera == 2


@pytest.mark.parametrize("content", ["{ not json", "[1, 2]", "", "\x00\x01"])
def test_a_damaged_file_gives_defaults_and_a_warning(content, caplog):
    paths.settings_file().write_text(content)
    with caplog.at_level(logging.WARNING, logger="assistant.live.settings"):
        assert load() == Settings()
    assert "using defaults" in caplog.text


def test_bad_values_fall_back_one_by_one(caplog):
    paths.settings_file().write_text(json.dumps({
        "language": "fr", "rate": "fast", "volume": 7, "continuous": "yes", "voice": "es",
        "shortcuts": {"identify": 5}, "colour": "blue",
        "announcer": {"say_threshold": 0.2, "maybe_threshold": 0.5}}))
    with caplog.at_level(logging.WARNING, logger="assistant.live.settings"):
        s = load()
    assert (s.language, s.rate, s.volume, s.continuous, s.voice) == ("en", 175, 1.0, True, "es")
    assert s.shortcuts == {} and s.announcer == AnnouncerSettings()
    for word in ("language", "rate", "continuous", "shortcuts", "colour", "announcer"):
        assert word in caplog.text


def test_a_partial_announcer_section_keeps_the_other_defaults():
    s = Settings.from_dict({"announcer": {"window": 7, "agreement": 4, "nonsense": 1}})
    assert (s.announcer.window, s.announcer.agreement) == (7, 4)
    assert s.announcer.say_threshold == AnnouncerSettings().say_threshold


def test_every_phrase_exists_in_both_languages_with_the_same_fields():
    for message_id, entry in catalog.PHRASES.items():
        assert set(entry) == set(catalog.LANGUAGES), message_id
        fields = [catalog.fields_in(t) for t in entry.values()]  # plural choices included
        assert all(f == fields[0] for f in fields), message_id


def test_phrases_fill_fields_and_fall_back():
    assert catalog.phrase("not_sure_maybe", "es", name="leche") == "No estoy seguro. Quizá leche."
    assert catalog.phrase("too_dark", "de") == catalog.phrase("too_dark", "en")
    assert catalog.phrase("no_such_message") == "no such message"
    assert "{name}" in catalog.phrase("not_sure_maybe", "en")     # a missing field: still words


def test_product_names_come_from_the_checkpoint(tiny_checkpoint):
    ckpt = load_checkpoint(tiny_checkpoint)
    assert catalog.product_name(ckpt, "red_sauce", "es") == "salsa de tomate"
    assert catalog.product_name(ckpt, "red_sauce", "en") == "tomato sauce"
    assert catalog.product_name(ckpt, "blue_milk", "es") == "blue milk"
    assert catalog.product_name(ckpt, "pickled_herring", "en") == "pickled herring"


@pytest.mark.fault("settings.json with a trailing comma: kept aside as settings.json.damaged-<time>, "
                   "defaults used, never overwritten")
def test_a_damaged_file_is_kept_aside_before_defaults_are_saved():
    from assistant.live.settings import load_checked
    typo = '{"language":"es","rate":250,"volume":0.4,}'
    paths.settings_file().write_text(typo)
    settings, problem, kept = load_checked()
    assert settings == Settings() and problem
    assert kept is not None and kept.name.startswith("settings.json.damaged-")
    assert kept.read_text() == typo                      # the user's words are all there
    settings.save()                                      # quitting saves the defaults ...
    assert kept.read_text() == typo                      # ... beside the damaged file, not over it
    assert load() == Settings()


def test_a_file_damaged_while_running_is_kept_before_it_is_saved_over():
    Settings(language="es").save()
    paths.settings_file().write_text('{"language": "es",')  # hand-edited while the app ran
    Settings(rate=300).save()
    kept = sorted(paths.settings_file().parent.glob("settings.json.damaged-*"))
    assert [k.read_text() for k in kept] == ['{"language": "es",']
    assert load().rate == 300
