"""`main.py bench --only engines` runs and measures both engines (tiny settings, on the session's
Ray cluster); its figures belong in the README, not in a timed test."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import shared_data

pytestmark = [pytest.mark.ray, pytest.mark.data]
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # a benchmark, 75 s under load; what it measures is tested beside it in the
# slow set: Ray's classify gives the local answers (test_ray_classify.py), Ray Serve answers as
# the local engine (test_ray_serve.py); the bench's parts take their flags (test_benchmarks.py)
def test_bench_engines_measures_local_and_ray_in_one_run(ray_address, tmp_path):
    shared_data("freiburg", "images")
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, "main.py", "bench", "--only", "engines", "--", "--address", ray_address,
                           "--photos", "12", "--seconds", "1", "--clients", "2", "--replicas", "1",
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=540)
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    assert figures["classify"]["same_labels"] == "12/12"
    for engine in ("local", "ray"):
        assert figures["classify"][engine]["photos"] == 12
        assert figures["classify"][engine]["photos_per_s"] > 0
        assert figures["serve"][engine]["answered"] > 0 and figures["serve"][engine]["errors"] == 0
    assert "requests/s" in done.stdout and "photos/s" in done.stdout
