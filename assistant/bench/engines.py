"""The local engine against the Ray engine, measured in one run on this machine: photos per
second of `classify DIR` and requests per second of `serve` under the same load.

    python main.py bench --only engines -- [--photos 300] [--seconds 10] [--clients 8]
        [--replicas 2] [--model FILE] [--address ADDR] [--json FILE]

Each command runs as a user runs it, in its own process: `classify` on a folder of Freiburg
photos (round-robin over the products; a copy in a temporary folder), with and without
`--engine ray`, then `serve` and `serve --engine ray --replicas N`, each driven by the same
Python clients on loopback for a fixed number of seconds (after a short warm-up). Without
--address each Ray run starts (and stops) a Ray cluster of this machine alone: the `classify`
figures give the whole command's time, and the command's own photos/s (from its first photo
on, without the cluster's start). Needs Ray (the extra .[ray]) and ../shared/data.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT.parent / "shared" / "data" / "freiburg" / "images"


def photo_folder(dest: Path, count: int) -> list[Path]:
    """count Freiburg photos, taken from the products in turn, copied into dest."""
    if not IMAGES.is_dir():
        raise SystemExit(f"{IMAGES} is not here: the benchmark needs the Freiburg photos")
    per_class = [sorted(d.glob("*.jpg")) for d in sorted(IMAGES.iterdir()) if d.is_dir()]
    chosen, i = [], 0
    while len(chosen) < count and any(per_class):
        column = per_class[i % len(per_class)]
        if column:
            chosen.append(column.pop(0))
        i += 1
    dest.mkdir(parents=True)
    for photo in chosen:
        shutil.copyfile(photo, dest / photo.name)
    return sorted(dest.iterdir())


def classify(folder: Path, out: Path, home: str, extra: list[str]) -> dict:
    env = dict(os.environ, GROCERY_ASSISTANT_HOME=home)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "main.py", "classify", str(folder), "--out", str(out),
                           "--no-progress", *extra], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=1800)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"classify {' '.join(extra)} failed:\n{done.stderr}")
    match = re.search(r"classified (\d+) photos in ([\d.]+) s", done.stderr)
    photos, seconds = int(match.group(1)), float(match.group(2))
    with open(out, encoding="utf-8") as fh:
        labels = [line.split(",")[1] for line in fh.read().splitlines()[1:]]
    return {"photos": photos, "wall_s": round(wall, 1), "photos_per_s_wall": round(photos / wall, 1),
            "photos_per_s": round(photos / seconds, 1), "labels": labels}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: str, extra: list[str]) -> tuple[subprocess.Popen, str]:
    import httpx
    port = free_port()
    env = dict(os.environ, GROCERY_ASSISTANT_HOME=home)
    proc = subprocess.Popen([sys.executable, "main.py", "serve", "--port", str(port), *extra],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"serve {' '.join(extra)} stopped at start")
        try:
            if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"serve {' '.join(extra)} did not come up")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()


def load(base: str, photos: list[bytes], clients: int, seconds: float) -> dict:
    """clients threads posting photos in turn for `seconds`: requests/s, latency, errors."""
    import httpx
    times, errors, lock = [], [], threading.Lock()
    end = time.monotonic() + seconds

    def client(k: int) -> None:
        with httpx.Client(timeout=60) as c:
            i = k
            while time.monotonic() < end:
                t0 = time.perf_counter()
                try:
                    status = c.post(f"{base}/api/predict", content=photos[i % len(photos)],
                                    headers={"Content-Type": "image/jpeg"}).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                with lock:
                    (times if status == 200 else errors).append(time.perf_counter() - t0)
                i += clients

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    times.sort()
    p = (lambda q: round(times[min(len(times) - 1, int(q * len(times)))] * 1e3)) if times else (
        lambda q: None)
    return {"requests_per_s": round(len(times) / elapsed, 1), "p50_ms": p(0.5), "p99_ms": p(0.99),
            "answered": len(times), "errors": len(errors)}


def serve_bench(home: str, photos: list[bytes], clients: int, seconds: float,
                extra: list[str]) -> dict:
    proc, base = start_server(home, extra)
    try:
        load(base, photos, clients, min(2.0, seconds))  # warm-up: first batches, connections
        return load(base, photos, clients, seconds)
    finally:
        stop_server(proc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=300, help="photos in the classify folder")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of load per service")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--replicas", type=int, default=2, help="replicas of serve --engine ray")
    parser.add_argument("--model", help="checkpoint (default: the bundled model)")
    parser.add_argument("--address", help="a running Ray cluster to use (default: a new one)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    common = ["--model", args.model] if args.model else []
    ray_flags = ["--engine", "ray", *(["--address", args.address] if args.address else [])]
    figures: dict = {"machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()[0]}}
    with tempfile.TemporaryDirectory() as tmp:
        home, folder = str(Path(tmp) / "home"), Path(tmp) / "photos"
        files = photo_folder(folder, args.photos)
        local = classify(folder, Path(tmp) / "local.csv", home, common)
        on_ray = classify(folder, Path(tmp) / "ray.csv", home, [*common, *ray_flags])
        agree = sum(a == b for a, b in zip(local.pop("labels"), on_ray.pop("labels"), strict=True))
        figures["classify"] = {"local": local, "ray": on_ray,
                               "same_labels": f"{agree}/{local['photos']}"}
        photos = [p.read_bytes() for p in files[:64]]
        figures["serve"] = {
            "local": serve_bench(home, photos, args.clients, args.seconds, common),
            "ray": serve_bench(home, photos, args.clients, args.seconds,
                               [*common, *ray_flags, "--replicas", str(args.replicas)])}
    figures["machine"]["load_after"] = os.getloadavg()[0]
    report(figures, args)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")
    return 0


def report(f: dict, args) -> None:
    c, s = f["classify"], f["serve"]
    print(f"{f['machine']['cpus']} CPUs, load average {f['machine']['load_before']:.1f} before, "
          f"{f['machine']['load_after']:.1f} after")
    print(f"classify, {c['local']['photos']} Freiburg photos (same labels: {c['same_labels']})")
    print("  engine  photos/s (command)  photos/s (end to end)  seconds end to end")
    for name in ("local", "ray"):
        r = c[name]
        print(f"  {name:6}  {r['photos_per_s']:18}  {r['photos_per_s_wall']:21}  {r['wall_s']:18}")
    print(f"serve, {args.clients} clients, {args.seconds:g} s (ray: {args.replicas} replicas)")
    print("  engine  requests/s  p50 ms  p99 ms  errors")
    for name in ("local", "ray"):
        r = s[name]
        print(f"  {name:6}  {r['requests_per_s']:10}  {r['p50_ms']!s:6}  {r['p99_ms']!s:6}  "
              f"{r['errors']:6}")
    ratio = s["ray"]["requests_per_s"] / s["local"]["requests_per_s"] if s["local"][
        "requests_per_s"] else float("nan")
    print(f"ray / local: requests/s {ratio:.2f}, classify photos/s "
          f"{c['ray']['photos_per_s'] / c['local']['photos_per_s']:.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
