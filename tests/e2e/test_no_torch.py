"""The app, `serve` and `classify` never import torch (nor torchvision).

Each entry point runs in a fresh process with an import hook that records and refuses any
import of torch; each must still do its real job on real photos with the bundled model (the
demo photos' file names say what they show).
"""
from __future__ import annotations

import csv
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import refusing_imports, run_cli

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "assets" / "demo"


def truth(path: Path) -> str:
    return path.name.split("_")[1]  # 01_juice_bravo-orange-juice.jpg -> juice


@pytest.fixture
def no_torch_env(tmp_path, isolated_home):
    env, marker = refusing_imports(tmp_path, ("torch", "torchvision"), "torch must not be imported here: ")
    env["QT_QPA_PLATFORM"] = "offscreen"
    yield env
    assert not marker.exists(), "torch was imported:\n" + marker.read_text()


def test_the_hook_catches_an_import_of_torch(no_torch_env, tmp_path):
    probe = subprocess.run([sys.executable, "-c", "import torch"], env=no_torch_env, capture_output=True,
                           text=True, timeout=60)
    assert probe.returncode != 0 and "must not be imported" in probe.stderr
    Path(no_torch_env["REFUSED_MARKER"]).unlink()  # the probe's record, not a finding


def test_classify_runs_without_torch(no_torch_env, tmp_path):
    out = tmp_path / "results.csv"
    done = run_cli("classify", str(DEMO), "--out", str(out), "--no-progress", env=no_torch_env)
    assert done.returncode == 0, done.stderr
    with open(out, newline="") as fh:
        rows = {r["path"]: r["label"] for r in csv.DictReader(fh)}
    photos = sorted(DEMO.glob("*.jpg"))
    assert rows == {p.name: truth(p) for p in photos}


def test_the_app_speaks_each_product_without_torch(no_torch_env, tmp_path):
    transcript = tmp_path / "said.tsv"
    done = run_cli("app", "--source", str(DEMO), "--hold", "1", "--once", "--transcript", str(transcript),
                   "--engine", "silent", env=no_torch_env)
    assert done.returncode == 0, done.stderr
    said = [line.split("\t")[2] for line in transcript.read_text().splitlines()]
    expected = [truth(p) for p in sorted(DEMO.glob("*.jpg"))]
    products = [s for s in said if s in {"juice", "milk"}]
    assert products == expected, said


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_without_torch(no_torch_env):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "main.py", "serve", "--port", str(port)], cwd=ROOT,
                            env=no_torch_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(base + "/api/health", timeout=5) as answer:
                    health = answer.read().decode()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "serve did not come up"
                time.sleep(0.3)
        # ONNX Runtime, in whichever precision set-up measured free for this CPU (fp32, int8 or
        # int8 checked by fp32)
        assert '"backend":"onnx' in health
        photo = sorted(DEMO.glob("*.jpg"))[1]
        request = urllib.request.Request(base + "/api/predict", data=photo.read_bytes(),
                                         headers={"Content-Type": "image/jpeg"}, method="POST")
        with urllib.request.urlopen(request, timeout=60) as answer:
            body = answer.read().decode()
        assert f'"class":"{truth(photo)}"' in body, body
    finally:
        proc.terminate()
        proc.wait(timeout=30)
