"""The scripts a person runs from the checkout (scripts/), run as they would run them."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

from tests.helpers import ROOT, run_python, shared_data


def test_run_app_opens_the_assistant_on_a_virtual_screen_when_there_is_none(tmp_path, photo_dir,
                                                                            tiny_checkpoint, isolated_home):
    """scripts/run-app.sh with no screen: the window opens on xvfb-run (else offscreen), says so,
    and the assistant watches its source and writes what it said."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["GROCERY_ASSISTANT_HOME"] = str(isolated_home)
    said = tmp_path / "said.tsv"
    done = subprocess.run(["bash", "scripts/run-app.sh", "app", "--source", str(photo_dir / "red_sauce"),
                           "--hold", "0.3", "--once", "--transcript", str(said), "--model",
                           str(tiny_checkpoint), "--engine", "silent"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    virtual = "virtual screen (xvfb-run)" if shutil.which("xvfb-run") else "Qt draws offscreen"
    assert "run-app: no screen here" in done.stderr and virtual in done.stderr, done.stderr
    assert "ready" in [line.split("\t")[2] for line in said.read_text().splitlines()]


def test_make_demo_rebuilds_the_bundled_demo_from_the_grocerystore_photos(tmp_path):
    """scripts/make_demo.py on the shared GroceryStore photos writes the demo that is committed,
    byte for byte: pictures, listing, licence and attribution."""
    data = shared_data("grocerystore")
    out = tmp_path / "demo"
    done = run_python("scripts/make_demo.py", "--data", str(data), "--out", str(out), check=True)
    assert "8 pictures" in done.stdout
    committed = ROOT / "assets" / "demo"
    listing = json.loads((committed / "demo.json").read_text())
    assert sorted(p.name for p in out.glob("*.jpg")) == [e["file"] for e in listing]
    for name in [e["file"] for e in listing] + ["demo.json", "LICENSE", "ATTRIBUTION.md"]:
        assert (out / name).read_bytes() == (committed / name).read_bytes(), name
