"""Requests per second and latency of `serve` under 1, 4 and 16 concurrent clients.

    python main.py bench --only api -- [--model FILE] [--backend torch] [--seconds 8]

Starts the real server (`main.py serve --port 0`) in its own process, drives POST /api/predict
with wrk (Debian package `wrk`) or, without it, a Python client in a separate process, and
prints requests/s, p50/p99 latency, errors, and the server's resident memory before and after
each level. Every level runs a fixed number of seconds; the server is stopped at the end.
Flags it does not know (e.g. --max-batch 8, --threads 2) go to `serve`.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT.parent / "shared" / "data" / "freiburg" / "images" / "coffee" / "COFFEE0001.jpg"

WRK_LUA = """
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("BENCH_TYPE")
"""


def start_server(model: Path, backend: str, home: str, extra: list[str]) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, GROCERY_ASSISTANT_HOME=home)
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "serve", "--port", "0", "--model",
                             str(model), "--backend", backend, *extra],
                            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        match = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
        if match:
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, match.group(1)
    proc.kill()
    raise SystemExit("the server did not start")


def rss_mb(pid: int) -> float:
    import psutil
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20


def multipart(photo: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + photo + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def run_wrk(url: str, clients: int, seconds: float, body_file: str, content_type: str, lua: str) -> dict:
    env = dict(os.environ, BENCH_BODY=body_file, BENCH_TYPE=content_type)
    out = subprocess.run(["wrk", "-t", str(min(clients, 2)), "-c", str(clients), "-d", f"{seconds:g}s",
                          "--timeout", "30s", "--latency", "-s", lua, f"{url}/api/predict"],
                         env=env, capture_output=True, text=True, timeout=seconds + 60).stdout
    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)] if m else float("nan")
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"requests": requests, "rps": rps, "p50_ms": ms("50"), "p99_ms": ms("99"), "errors": errors}


def run_python_client(url: str, clients: int, seconds: float, body_file: str, content_type: str) -> dict:
    """The fallback load generator, in its own process so it does not share the server's GIL."""
    out = subprocess.run([sys.executable, "-m", "assistant.bench.api", "--client", url, "--clients", str(clients),
                          "--seconds", str(seconds), "--body", body_file, "--type", content_type],
                         capture_output=True, text=True, timeout=seconds + 120, cwd=ROOT)
    return json.loads(out.stdout)


def client_main(url: str, clients: int, seconds: float, body_file: str, content_type: str) -> None:
    import http.client
    from urllib.parse import urlparse
    body, target = Path(body_file).read_bytes(), urlparse(url)
    latencies: list[float] = []
    errors = [0]
    stop = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/api/predict", body, {"Content-Type": content_type})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            latencies.append(time.perf_counter() - t0) if ok else errors.__setitem__(0, errors[0] + 1)

    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed, lat = time.monotonic() - start, sorted(latencies)
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1e3 if lat else float("nan")  # noqa: E731
    print(json.dumps({"requests": len(lat) + errors[0], "rps": len(lat) / elapsed, "p50_ms": pick(0.5),
                      "p99_ms": pick(0.99), "errors": errors[0]}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="checkpoint (default: the app's model, else a stand-in)")
    parser.add_argument("--backend", default="auto", help="auto | torch | onnx | onnx-int8")
    parser.add_argument("--levels", default="1,4,16,16",
                        help="concurrent clients, comma-separated (16 twice: memory must stay flat "
                             "once the largest batch has been seen)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each level")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--photo", type=Path, default=PHOTO, help="the photo every request sends")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--calibration", type=Path, default=PHOTO.parents[1],
                        help="photos for onnx-int8 (first use)")
    args, rest = parser.parse_known_args(argv)
    home = tempfile.mkdtemp(prefix="bench-api-")
    os.environ.setdefault("GROCERY_ASSISTANT_HOME", home)
    from assistant.bench.backends import default_model
    model, what = (args.model, "given") if args.model else default_model()
    if args.photo.is_file():
        photo = args.photo.read_bytes()
    else:  # the first demo photo: a real pack, shipped with the app
        from assistant.live.camera import DEMO_DIR, list_photos
        photo = list_photos(DEMO_DIR)[0].read_bytes()
    body, content_type = multipart(photo)
    body_file, lua = Path(home) / "body.bin", Path(home) / "post.lua"
    body_file.write_bytes(body)
    lua.write_text(WRK_LUA)
    tool = ("wrk" if shutil.which("wrk") else "python") if args.client == "auto" else args.client
    extra = ["--calibration", str(args.calibration)] if args.backend.startswith("onnx-int8") else []
    proc, url = start_server(model, args.backend, home, extra + rest)
    print(f"server {url} pid {proc.pid}; model {model} ({what}), backend {args.backend}; "
          f"load generator {tool}; load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    results = []
    try:
        for clients in [int(c) for c in args.levels.split(",")]:
            before = rss_mb(proc.pid)
            if tool == "wrk":
                row = run_wrk(url, clients, args.seconds, str(body_file), content_type, str(lua))
            else:
                row = run_python_client(url, clients, args.seconds, str(body_file), content_type)
            row.update(clients=clients, rss_before_mb=round(before, 1), rss_after_mb=round(rss_mb(proc.pid), 1))
            results.append(row)
            print(f"{clients:3d} clients: {row['rps']:7.1f} req/s  p50 {row['p50_ms']:7.1f} ms  "
                  f"p99 {row['p99_ms']:7.1f} ms  errors {row['errors']}  requests {row['requests']}  "
                  f"RSS {row['rss_before_mb']:.0f} -> {row['rss_after_mb']:.0f} MB", file=sys.stderr)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"load average at the end {os.getloadavg()[0]:.1f}", file=sys.stderr)
    if args.json:
        print(json.dumps({"model": str(model), "backend": args.backend, "tool": tool, "levels": results}))
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        p = argparse.ArgumentParser()
        p.add_argument("--client")
        p.add_argument("--clients", type=int)
        p.add_argument("--seconds", type=float)
        p.add_argument("--body")
        p.add_argument("--type")
        a = p.parse_args()
        client_main(a.client, a.clients, a.seconds, a.body, a.type)
        raise SystemExit(0)
    raise SystemExit(main())
