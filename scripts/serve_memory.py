"""Memory of `main.py serve` around a burst of big uploads: its resident size before, at the
peak of, and two seconds after 16 requests at once, 8 of a 6000x6000 RGBA PNG (0.14 MB on the
wire, 137 MB decoded: refused by the decoded-bytes limit) and 8 of a 7000x7000 JPEG (49
megapixels, decoded at reduced size).

usage: python scripts/serve_memory.py        (from the checkout; starts its own server)
"""
from __future__ import annotations

import io
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import psutil
from PIL import Image


def pictures() -> list[tuple[str, bytes, str]]:
    png = io.BytesIO()
    Image.fromarray(np.zeros((6000, 6000, 4), np.uint8)).save(png, "PNG")
    ramp = np.linspace(0, 255, 7000, dtype=np.uint8)
    rgb = np.stack([np.broadcast_to(ramp, (7000, 7000)), np.broadcast_to(ramp[:, None], (7000, 7000)),
                    np.full((7000, 7000), 90, np.uint8)], -1)
    jpg = io.BytesIO()
    Image.fromarray(rgb).save(jpg, "JPEG", quality=85)
    return [("p.png", png.getvalue(), "image/png")] * 8 + [("j.jpg", jpg.getvalue(), "image/jpeg")] * 8


def main() -> int:
    bodies = pictures()
    proc = subprocess.Popen([sys.executable, "main.py", "serve", "--port", "0"],
                            stderr=subprocess.PIPE, text=True)
    url = None
    while url is None:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            print("serve did not start", file=sys.stderr)
            return 1
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        url = match.group(1) if match else None
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    server = psutil.Process(proc.pid)

    def rss() -> float:
        return server.memory_info().rss / 2**20

    before, peak, done = rss(), [0.0], threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda b: httpx.post(url + "/api/predict", files={"file": b},
                                                    timeout=300).status_code, bodies))
    time.sleep(2)
    done.set()
    after = rss()
    proc.terminate()
    proc.wait(10)
    print(f"answers: {codes.count(200)} answered, {codes.count(422)} refused (422); resident "
          f"memory before {before:.0f} MB, peak {peak[0]:.0f} MB, after {after:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
