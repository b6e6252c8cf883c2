"""This computer's retraining speed (assistant.store.timings): the estimate is the recorded speed
times the photo views not cached yet plus the fixed costs, a damaged file is ignored (with a
log line), and a running retrain's forecast follows the rate it measures. No Qt, no torch."""
from __future__ import annotations

import logging

import pytest

from assistant import paths
from assistant.store import timings

SPEED = {"view_s": 0.1, "fixed_s": 20.0, "lower_view_s": 0.3, "upper_fixed_s": 30.0,
         "upper_photo_s": 2.0, "upper_epochs": 8, "full_photo_s": 5.0}


def test_the_estimate_counts_only_the_photos_not_cached_yet():
    # 312 photos, each new one read as the photo and its mirror image, none cached: 624 views
    assert timings.estimate(SPEED, timings.Job("fast", cold=624, photos=312)) == pytest.approx(20.0 + 62.4)
    # the same library once its features are cached: the fixed costs alone
    assert timings.estimate(SPEED, timings.Job("fast", cold=0, photos=312)) == 20.0


def test_the_upper_blocks_add_their_passes_and_full_mode_its_photos():
    job = timings.Job("upper", cold=60, photos=10)
    assert timings.estimate(SPEED, job) == pytest.approx(30.0 + 60 * 0.3 + 10 * 2.0)
    assert timings.estimate(SPEED, timings.Job("upper", cold=0, photos=10, epochs=16)) == 30.0 + 40.0
    assert timings.estimate(SPEED, timings.Job("full", photos=100)) == 500.0


def test_no_estimate_without_a_measured_figure():
    assert timings.estimate({}, timings.Job("fast", cold=10)) is None
    assert timings.estimate({"view_s": 0.1}, timings.Job("fast", cold=10)) is None  # no fixed costs
    assert timings.estimate({"fixed_s": 5.0}, timings.Job("fast", cold=10)) is None  # no rate
    assert timings.estimate({"fixed_s": 5.0}, timings.Job("fast", cold=0)) == 5.0
    assert timings.estimate(SPEED, timings.Job("full")) == 0.0
    assert timings.estimate({"view_s": 1.0, "fixed_s": 1.0}, timings.Job("full", photos=3)) is None


def test_a_warm_up_alone_gives_an_estimate_from_its_start():
    """Before any retrain here, the window's warm-up measured the rate and its own start."""
    warm = {"view_s": 0.1, "start_s": 8.0}
    assert timings.estimate(warm, timings.Job("fast", cold=100)) == pytest.approx(
        timings.FIXED_PER_START * 8.0 + 10.0)
    assert timings.estimate({**warm, "fixed_s": 30.0}, timings.Job("fast", cold=0)) == 30.0
    assert timings.estimate(warm, timings.Job("upper", cold=0, photos=3)) is None


def test_a_speed_is_kept_per_computer_and_network_and_follows_the_newest_run():
    key = timings.machine_key("efficientnet_lite2", 260)
    assert timings.speed(key) == {}
    timings.record(key, view_s=0.2, fixed_s=25.0)
    timings.record(key, view_s=0.1, fixed_s=None)   # a run that read too little says no rate
    assert timings.speed(key) == {"view_s": 0.1, "fixed_s": 25.0}
    assert timings.speed(timings.machine_key("resnet18", 224)) == {}


def test_a_damaged_timings_file_is_ignored_with_a_log_line(caplog):
    key = timings.machine_key("efficientnet_lite2", 260)
    path = paths.data_dir() / "retrain_times.json"
    for damage in ('{"half', "[1, 2]", '{"fast": 540.0}', '{"k": {"view_s": "fast", "fixed_s": -1}}'):
        path.write_text(damage, encoding="utf-8")
        with caplog.at_level(logging.WARNING, logger="assistant.store.timings"):
            assert timings.speed(key) == {}
    assert "unreadable" in caplog.text
    timings.record(key, fixed_s=12.0)   # and the next measurement replaces it
    assert timings.speed(key) == {"fixed_s": 12.0}


def test_the_forecast_starts_from_the_estimate_then_follows_the_measured_rate():
    job = timings.Job("fast", cold=640)
    forecast = timings.Forecast(SPEED, job, started=1000.0)
    assert forecast.left(now=1000.0) == 20.0 + 64.0
    # a batch read at twice the recorded rate: the rest of the views too
    assert forecast.left(views=64, seconds=12.8, now=1012.8) == pytest.approx(20.0 + 640 * 0.2 - 12.8)
    # too few views to say: the recorded rate still
    assert forecast.left(views=8, seconds=10.0, now=1010.0) == 74.0
    assert forecast.left(now=1200.0) is None   # overdue: the steps left tell instead


def test_rate_needs_a_batch():
    assert timings.rate(31, 3.1) is None
    assert timings.rate(32, 3.2) == 0.1
