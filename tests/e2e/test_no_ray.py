"""The default engine never imports Ray, and without Ray `--engine ray` says how to install it.

Each entry point runs in a fresh process with an import hook that records (and refuses) any
import of ray, on the demo photos with the bundled model; this holds whether or not Ray is
installed here."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.test_no_torch import truth
from tests.helpers import refusing_imports, run_cli

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "assets" / "demo"


@pytest.fixture
def no_ray_env(tmp_path, isolated_home):
    return refusing_imports(tmp_path, ("ray",), "No module named 'ray' (refused by the test's hook): ")


def test_the_hook_catches_an_import_of_ray(no_ray_env):
    env, marker = no_ray_env
    probe = subprocess.run([sys.executable, "-c", "import ray.serve"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert probe.returncode != 0 and "refused by the test's hook" in probe.stderr
    assert marker.exists()


def test_classify_with_the_local_engine_imports_no_ray(no_ray_env, tmp_path):
    env, marker = no_ray_env
    out = tmp_path / "results.csv"
    done = run_cli("classify", str(DEMO), "--out", str(out), "--no-progress", env=env)
    assert done.returncode == 0, done.stderr
    with open(out, newline="") as fh:
        assert {r["path"]: r["label"] for r in csv.DictReader(fh)} == {
            p.name: truth(p) for p in DEMO.glob("*.jpg")}
    assert not marker.exists(), "ray was imported:\n" + marker.read_text()


def test_serve_with_the_local_engine_imports_no_ray(no_ray_env):
    from tests.e2e.test_no_torch import _free_port
    env, marker = no_ray_env
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "main.py", "serve", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(base + "/api/health", timeout=5) as answer:
                    health = json.loads(answer.read())
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "serve did not come up"
                time.sleep(0.3)
        assert (health["engine"], health["replicas"]) == ("local", 1)
        photo = sorted(DEMO.glob("*.jpg"))[0]
        request = urllib.request.Request(base + "/api/predict", data=photo.read_bytes(),
                                         headers={"Content-Type": "image/jpeg"}, method="POST")
        with urllib.request.urlopen(request, timeout=60) as answer:
            assert json.loads(answer.read())["class"] == truth(photo)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert not marker.exists(), "ray was imported:\n" + marker.read_text()


@pytest.mark.parametrize("command", [["classify", str(DEMO), "--no-progress"], ["serve"]])
def test_without_ray_the_ray_engine_says_how_to_install_it(no_ray_env, command):
    env, _ = no_ray_env
    done = run_cli(*command, "--engine", "ray", env=env)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "Ray" in last and "not installed" in last and "pip install -e '.[ray]'" in last, last
