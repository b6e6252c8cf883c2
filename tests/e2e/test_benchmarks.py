"""The benchmarks run for real, on a tiny model and synthetic photos: they finish, print their
figures and write coherent numbers (the figures themselves belong to the README, not to tests).
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import run_python

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(400)


def run(*command: str, home: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    result = run_python(*command, timeout=timeout,
                        env_extra={"QT_QPA_PLATFORM": "offscreen", "GROCERY_ASSISTANT_HOME": str(home)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    return result


def coherent(stats: dict, n: int | None = None) -> None:
    assert 0 < stats["median_ms"] <= stats["p90_ms"], stats
    if n is not None:
        assert stats["n"] >= n, stats


def test_bench_times_the_classifier_the_play_startup_and_memory(tmp_path, photo_dir,
                                                                 trained_checkpoint, isolated_home):
    out = tmp_path / "bench.json"
    result = run("main.py", "bench", "--model", str(trained_checkpoint),
                 "--source", str(photo_dir / "red_sauce"), "--frames", "3", "--seconds", "2",
                 "--minutes", "0.03", "--only", "classify", "play", "startup", "memory",
                 "--json", str(out), home=isolated_home)
    figures = json.loads(out.read_text())
    for name in ("preprocess", "fp32", "app_predict", "onnx_predict", "auto_predict"):
        coherent(figures["classify"][name], n=3)
    # the app's own backend, named: ONNX Runtime in the precision measured for this CPU
    assert figures["classify"]["auto_backend"].startswith("onnx")
    assert f"whole predict(), the app's: {figures['classify']['auto_backend']}" in result.stdout
    assert figures["play"]["frames_classified_per_s"] > 0
    coherent(figures["play"]["classify_ms"], n=1)
    assert all(s > 0 for s in figures["startup"]["seconds"]), figures["startup"]
    assert figures["memory"]["frames_classified"] > 0 and all(mb > 50 for _, mb in figures["memory"]["rss_mb"])
    for heading in ("1. Classification", "2. Playing", "4. Start-up", "5. Resident memory"):
        assert heading in result.stdout


def test_calibrate_announcer_measures_the_bands(photo_dir, trained_checkpoint, tiny_checkpoint,
                                                isolated_home):
    def say_band(model: Path) -> tuple[float, float]:
        result = run("main.py", "bench", "--only", "calibrate", "--", "--model", str(model), "--data",
                     str(photo_dir), "--no-degrade", home=isolated_home)
        assert "24 photos" in result.stdout and "Suggested: say_threshold=" in result.stdout
        coverage, accuracy = re.findall(r"say the name\s+([\d.]+)%\s+([\d.]+|-)%?",
                                        result.stdout)[-1]
        return float(coverage), float(accuracy) if accuracy != "-" else float("nan")
    # a model that knows the products is right whenever it says a name; a random one is not
    assert say_band(trained_checkpoint) == (100.0, 100.0)
    coverage, accuracy = say_band(tiny_checkpoint)
    assert not (coverage > 0 and accuracy > 60), (coverage, accuracy)


def test_bench_window_measures_the_real_window(tmp_path, photo_dir, trained_checkpoint,
                                               isolated_home):
    out = tmp_path / "window.json"
    result = run("-m", "assistant.ui.bench_window", "--seconds", "2", "--source",
                 str(photo_dir / "red_sauce"), "--model", str(trained_checkpoint),
                 "--json", str(out), home=isolated_home)
    figures = json.loads(out.read_text())
    assert figures["ready_s"] > 0
    assert figures["preview_fps"] > 0 and figures["classified_fps"] > 0
    assert figures["classify_ms_median"] > 0
    assert figures["gui_lag_ms_median"] <= figures["gui_lag_ms_max"]
    assert figures["rss_start_mb"] > 50 and figures["rss_end_mb"] > 50
    assert "propagateSizeHints" not in result.stderr


def test_p90_is_never_below_the_median():
    from assistant.bench.command import frame_stats
    assert frame_stats([10.0, 20.0]) == {"median_ms": 15.0, "p90_ms": 20.0, "n": 2}
    assert frame_stats([float(v) for v in range(1, 11)])["p90_ms"] == 9.0
    assert frame_stats([5.0])["p90_ms"] == 5.0


def test_bench_limit_prints_each_figure_with_its_ratio(tmp_path, photo_dir, trained_checkpoint,
                                                       isolated_home):
    """`bench --only limit`: the measured precision, one frame and `classify` in fp32, int8, int8
    checked and (on a CPU with bf16 units and OpenVINO) bf16, each precision's physical limit from the
    matrix-product peak of the same run."""
    from assistant.inference.openvino_backend import openvino_available
    from assistant.machine import has_bf16
    from model.precision import measure
    from tests.e2e.test_precision import _split
    chosen = measure(trained_checkpoint, *_split(photo_dir)).precision
    precisions = ("fp32", "int8", "int8-checked") + (("bf16", "bf16-checked") if has_bf16() and openvino_available()
                                                     else ())
    out = tmp_path / "limit.json"
    result = run("main.py", "bench", "--model", str(trained_checkpoint), "--source", str(photo_dir),
                 "--frames", "3", "--only", "limit", "--json", str(out), home=isolated_home)
    figures = json.loads(out.read_text())["limit"]
    assert chosen in ("int8", "bf16")  # the fitted tiny model is answered alike in each
    assert figures["precision"]["precision"] == chosen
    assert f"precision: {chosen} on" in result.stdout
    assert set(figures["frame_ms"]) == set(figures["product_frame_ms"]) == set(precisions)
    for p in precisions:
        coherent(figures["frame_ms"][p], n=3)
        coherent(figures["product_frame_ms"][p], n=3)
        limit = figures["limit_photos_per_s"][p]
        assert limit == pytest.approx(figures["peak_gops"][p] / figures["gflop_per_photo"], rel=0.01)
        c = figures["classify"][p]
        assert c["photos_per_s"] > 0 and c["top1"] == 1.0
        # the file keeps the ratio to 3 decimals (and both rates to 1): at 1-2% of the limit,
        # as under load, that rounding alone is 2-4% (0.012 for 0.01175, 0.023 for 0.02252
        # seen), so one unit of its last digit is allowed besides
        assert c["ratio_to_limit"] == pytest.approx(c["photos_per_s"] / limit, rel=0.02, abs=0.001)
        assert f"classify 24 photos end to end, {p}" in result.stdout


def test_each_standalone_part_takes_its_own_flags(isolated_home):
    """The former scripts/bench_*.py run as `bench --only PART -- FLAGS`: their flags reach them
    (--help prints their own usage), and only alone."""
    from assistant.bench.command import STANDALONE
    for part in STANDALONE:
        result = run("main.py", "bench", "--only", part, "--", "--help", home=isolated_home, timeout=120)
        assert "usage:" in result.stdout and "--only PART" not in result.stdout, part
    both = run_python("main.py", "bench", "--only", "dates", "api", timeout=120,
                      env_extra={"GROCERY_ASSISTANT_HOME": str(isolated_home)})
    assert both.returncode != 0 and "runs alone" in both.stderr


def test_launch_waits_for_a_product_line_not_the_ready_message():
    """The launch figure ends at the first product the app names; 'Ready.' and the other
    catalogue messages that come before it do not count."""
    from assistant.bench.runtime import said_a_product
    ready = "2026-12-06T21:19:07\t01_juice.jpg\tready\tReady. Hold a product in front of the camera.\n"
    assert not said_a_product("") and not said_a_product(ready)
    assert said_a_product(ready + "2026-12-06T21:19:07\t01_juice.jpg\tjuice\tjuice\n")
