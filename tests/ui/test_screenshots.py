"""The window as people see it, for the README (it was scripts/screenshots.sh): each language at
100 % and 200 % on a real X server (Xvfb), the bundled demo playing, grabbed from the server once
the first product was said. The pictures go to SCREENSHOT_DIR when it is set:

    SCREENSHOT_DIR=assets/screenshots .venv/bin/python -m pytest -m slow tests/ui/test_screenshots.py
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, unavailable, wait_until

#: the whole X screen, as a person would see it (Qt reads the root window of the server)
GRAB = """import sys
from PySide6.QtGui import QGuiApplication
app = QGuiApplication(sys.argv[:1])
sys.exit(0 if app.primaryScreen().grabWindow(0).save(sys.argv[1]) else 1)"""


def said_a_product(transcript: Path, app: subprocess.Popen, log: Path) -> bool:
    assert app.poll() is None, log.read_text()[-3000:]  # the app ended before it said anything
    products = {e["class"] for e in json.loads((ROOT / "assets" / "demo" / "demo.json").read_text())}
    rows = [line.split("\t") for line in transcript.read_text().splitlines()] if transcript.exists() else []
    return any(len(row) > 2 and row[2] in products for row in rows)


@pytest.mark.slow
@pytest.mark.parametrize("scale", [1, 2])
@pytest.mark.parametrize("language", ["en", "es"])
def test_the_window_on_a_real_screen_makes_the_readme_picture(language, scale, tmp_path, isolated_home):
    if shutil.which("Xvfb") is None:
        unavailable("Xvfb is not installed (scripts/apt-packages.txt lists it)")
    width, height = 1280 * scale, 800 * scale
    out = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    picture = out / f"window-{language}-{scale * 100}.png"
    # -displayfd: Xvfb picks a free display and writes its number once it accepts clients
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", f"{width}x{height}x24",
                             "-nolisten", "tcp"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, text=True)
    app = None
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
        env.update(DISPLAY=":" + xvfb.stdout.readline().strip(), GROCERY_ASSISTANT_HOME=str(isolated_home))
        transcript, log = tmp_path / "said.tsv", tmp_path / "app.log"
        with log.open("w") as err:
            app = subprocess.Popen([sys.executable, "main.py", "app", "--source", "assets/demo",
                                    "--language", language, "--engine", "silent", "--transcript",
                                    str(transcript)], cwd=ROOT, env=dict(env, QT_SCALE_FACTOR=str(scale)),
                                   stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        assert wait_until(lambda: said_a_product(transcript, app, log), timeout=240, step=0.2)
        out.mkdir(parents=True, exist_ok=True)
        grab = subprocess.run([sys.executable, "-c", GRAB, str(picture)], env=dict(env, QT_QPA_PLATFORM="xcb"),
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert grab.returncode == 0, grab.stderr
    finally:
        for process in (app, xvfb):
            if process is not None:
                process.terminate()
                process.wait(30)
    from PIL import Image
    with Image.open(picture) as img:
        assert img.size == (width, height)
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 100, "an empty screen, not the window"


@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "es"])
def test_maintainer_mode_on_a_real_screen_makes_the_readme_picture(language, tmp_path, isolated_home):
    if shutil.which("xvfb-run") is None:
        unavailable("xvfb-run is not installed (scripts/apt-packages.txt lists it)")
    out = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    picture = out / ("maintainer.png" if language == "en" else f"maintainer-{language}.png")
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    run = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x900x24", sys.executable,
                          str(Path(__file__).with_name("maintainer_picture.py")), language, str(picture)],
                         cwd=ROOT, env=dict(env, GROCERY_ASSISTANT_HOME=str(isolated_home)),
                         capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    from PIL import Image
    with Image.open(picture) as img:
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 100, "an empty picture, not maintainer mode"
