"""The runtime without torch against the old torch path, measured in one run on this machine.

    python main.py bench --only runtime [--model FILE] [--fold0 DIR] [--json F]
    python -m assistant.bench.runtime [--model FILE] [--photos DIR] [--fold0 DIR] [--json F]

A benchmark, not a test: it prints figures, each with its ratio to the old path (PyTorch in
the process) measured in the same run, and the goals they are held against.
  1. launch of `main.py app` on a photo folder to its first spoken product (silent engine:
     speech synthesis not counted), warm (3 runs, the same home) and first start (a fresh
     home each time); the resident memory of the app at its peak;
  2. resident memory of `main.py serve` after answering 16 requests;
  3. `classify` of a folder: photos/s end to end, and the ratio to the physical limit
     (GFLOP a photo against this CPU's measured fp32 matrix-product peak);
  4. with --fold0 (scripts/heldout_folder.py lays it out): top-1 of each path on the held-out
     photos and their top-1 agreement (no accuracy lost);
  5. OpenVINO as a peer, on the same photos, when it is installed (pip install openvino).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from assistant.machine import cpu_name

ROOT = Path(__file__).resolve().parents[2]
GOALS = {"warm_s": 1.5, "first_s": 3.0, "app_mb": 350, "serve_mb": 300}


def _rss_mb(pid: int) -> float:
    import psutil
    try:
        return psutil.Process(pid).memory_info().rss / 2**20
    except psutil.Error:
        return 0.0


def said_a_product(transcript: str) -> bool:
    """Whether a transcript (time, in view, id, words a line) has a product's line yet; the
    catalogue's messages ("Ready. Hold a product...") come first and do not count."""
    from assistant.catalog import PHRASES
    return any(len(cols) >= 4 and cols[2] not in PHRASES
               for cols in (line.split("\t") for line in transcript.splitlines()))


def launch_to_first_word(backend: str, photos: Path, home: Path) -> tuple[float, float]:
    """Seconds from spawning the app to its first product line, and the app's peak RSS (MB)."""
    with tempfile.TemporaryDirectory() as tmp:
        transcript = Path(tmp) / "said.tsv"
        env = dict(os.environ, GROCERY_ASSISTANT_HOME=str(home), QT_QPA_PLATFORM="offscreen")
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "main.py", "app", "--source", str(photos), "--hold", "1",
                                 "--once", "--engine", "silent", "--transcript", str(transcript),
                                 "--backend", backend], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        first, peak = None, 0.0
        while proc.poll() is None and time.monotonic() - t0 < 120:
            peak = max(peak, _rss_mb(proc.pid))
            if first is None and transcript.is_file() and said_a_product(transcript.read_text()):
                first = time.monotonic() - t0
            time.sleep(0.01 if first is None else 0.2)
        proc.kill() if proc.poll() is None else None
        proc.wait()
        return (first if first is not None else float("nan")), peak


def bare_python_s() -> float:
    """Seconds for `python -c pass` to start and end: the floor every launch stands on, timed
    beside each launch so that the machine's load shows in both."""
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.monotonic() - t0


def bench_launch(photos: Path, runs: int, backends: tuple[str, ...] = ("auto", "torch")) -> dict:
    out: dict = {}
    with tempfile.TemporaryDirectory() as warm_home:
        for backend in backends:
            launch_to_first_word(backend, photos, Path(warm_home))  # warms the page cache and the home
        for backend in backends:
            warm, bare = [], []
            for _ in range(runs):
                bare.append(bare_python_s())
                warm.append(launch_to_first_word(backend, photos, Path(warm_home)))
            first = []
            for _ in range(max(1, runs // 2)):
                with tempfile.TemporaryDirectory() as fresh:
                    first.append(launch_to_first_word(backend, photos, Path(fresh)))
            out[backend] = {"warm_s": [round(t, 2) for t, _ in warm],
                            "bare_python_s": [round(t, 3) for t in bare],
                            "warm_to_bare": round(statistics.median(t / b for (t, _), b in zip(warm, bare, strict=True)), 1),
                            "first_s": [round(t, 2) for t, _ in first],
                            "app_peak_mb": round(max(m for _, m in warm + first), 1)}
    return out


def print_launch(launch: dict, backend: str = "auto") -> None:
    figures = launch[backend]
    warm, bare = statistics.median(figures["warm_s"]), statistics.median(figures["bare_python_s"])
    print(f"   launch -> first product word, warm ({backend}): {warm:.2f} s median = "
          f"{figures['warm_to_bare']:.1f}x a bare `python -c pass` ({bare:.2f} s) in the same run "
          f"(goal <= 1 s warm on a quiet machine, bar {GOALS['warm_s']} s); load {os.getloadavg()[0]:.1f}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_memory(backend: str, photo: Path, home: Path) -> float:
    port = _free_port()
    env = dict(os.environ, GROCERY_ASSISTANT_HOME=str(home))
    proc = subprocess.Popen([sys.executable, "main.py", "serve", "--port", str(port), "--backend", backend],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(base + "/api/health", timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    return float("nan")
                time.sleep(0.2)
        body = photo.read_bytes()
        for _ in range(16):
            req = urllib.request.Request(base + "/api/predict", data=body, method="POST",
                                         headers={"Content-Type": "image/jpeg"})
            urllib.request.urlopen(req, timeout=60).read()
        return _rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)


def classify_folder(backend: str, folder: Path, extra: list[str] | None = None,
                    home: str | None = None) -> tuple[dict, float]:
    """labels by path, and photos/s as `classify` reports it."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "c.csv"
        env = dict(os.environ, GROCERY_ASSISTANT_HOME=home) if home else None
        run = subprocess.run([sys.executable, "main.py", "classify", str(folder), "-r", "--out", str(out),
                              "--no-progress", "--backend", backend, *(extra or [])], cwd=ROOT,
                             capture_output=True, text=True, timeout=3600, env=env)
        if run.returncode != 0:
            raise RuntimeError(run.stderr.strip().splitlines()[-1])
        said = next((ln for ln in (run.stdout + run.stderr).splitlines() if "photos/s" in ln), "")
        rate = float(said.split("(")[-1].split()[0]) if said else float("nan")
        with open(out, newline="") as fh:
            return {r["path"]: r["label"] for r in csv.DictReader(fh)}, rate


def model_gflop(model: Path) -> float:
    """Multiply-adds x 2 of one photo through the network (convolutions and the head)."""
    import torch

    from assistant.inference.classifier import Classifier
    clf = Classifier(model, device="cpu")
    total = [0]

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            total[0] += 2 * output.numel() * k
        elif isinstance(module, torch.nn.Linear):
            total[0] += 2 * module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in clf.model.modules()
               if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    size = clf.preprocessing.size
    with torch.inference_mode():
        clf.model(torch.zeros(1, 3, size, size))
    for h in handles:
        h.remove()
    return total[0] / 1e9


def peak_gflops() -> float:
    """fp32 matrix-product rate of this CPU, all cores (numpy's BLAS), best of a few runs."""
    import numpy as np
    a = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    best = 0.0
    for _ in range(5):
        t0 = time.perf_counter()
        a @ a
        best = max(best, 2 * 2048**3 / (time.perf_counter() - t0) / 1e9)
    return best


def openvino_rate(model: Path, photos: list[Path]) -> dict | None:
    """OpenVINO on the same ONNX file and photos: photos/s (model + preprocessing) and labels."""
    try:
        import openvino as ov
    except ImportError:
        return None
    import numpy as np

    from assistant.inference.checkpoint import read_metadata
    from assistant.inference.export import ensure_onnx
    from assistant.inference.vision import Preprocessing, load_image
    meta = read_metadata(model)
    prep = Preprocessing.from_dict(meta["preprocessing"])
    compiled = ov.Core().compile_model(str(ensure_onnx(model)), "CPU",
                                       {"PERFORMANCE_HINT": "THROUGHPUT"})
    ids = [c["id"] for c in meta["classes"]]
    arrays = [prep.array(load_image(p)) for p in photos]
    batches = [np.concatenate(arrays[i:i + 32]) for i in range(0, len(arrays), 32)]
    t0 = time.perf_counter()
    logits = np.concatenate([compiled(b)[0] for b in batches])
    model_only = len(arrays) / (time.perf_counter() - t0)
    return {"model_only_per_s": round(model_only, 1), "labels": [ids[i] for i in logits.argmax(1)]}


def part(model: Path, args) -> dict:
    """`bench --only runtime`."""
    print("\n6. The runtime without torch against the torch path:")
    source = Path(args.source)
    return run(model, source if source.is_dir() else ROOT / "assets" / "demo", args.fold0)


def launch_part(model: Path, args) -> dict:
    """`bench --only launch`: `main.py app` on a photo folder to its first product word (the model
    the app would load), as a ratio to a bare `python -c pass` timed beside each launch."""
    source = Path(args.source)
    print("\nLaunch.")
    figures = bench_launch(source if source.is_dir() else ROOT / "assets" / "demo", 3, ("auto",))
    print_launch(figures)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="checkpoint (default: the model the app would load)")
    parser.add_argument("--photos", type=Path, default=ROOT / "assets" / "demo",
                        help="photo folder the app plays (default: the demo photos)")
    parser.add_argument("--fold0", type=Path, help="held-out photos, a folder per product "
                        "(scripts/heldout_folder.py): accuracy of each path and classify speed")
    parser.add_argument("--calibration", type=Path, help="with --fold0: training photos to calibrate "
                        "int8 on (never the held-out ones); int8 accuracy is measured too")
    parser.add_argument("--runs", type=int, default=3, help="warm launches per path")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    from assistant.store.models import active_model_path
    out = run(args.model or active_model_path(), args.photos, args.fold0, args.runs, args.calibration)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


def run(model: Path, photos: Path = ROOT / "assets" / "demo", fold0: Path | None = None,
        runs: int = 3, calibration: Path | None = None) -> dict:
    """Measure and print every figure; returns them."""
    out: dict = {"cpu": cpu_name(), "model": str(model), "load_before": os.getloadavg()[0]}
    print(f"CPU: {out['cpu']}; model {model.name}; load {out['load_before']:.1f}")

    launch = bench_launch(photos, runs)
    out["launch"] = launch
    new, old = launch["auto"], launch["torch"]
    w_new, w_old = statistics.median(new["warm_s"]), statistics.median(old["warm_s"])
    f_new, f_old = statistics.median(new["first_s"]), statistics.median(old["first_s"])
    print("\n1. launch -> first spoken product (median; silent engine)")
    print(f"   warm:        {w_new:.2f} s without torch vs {w_old:.2f} s with torch  "
          f"(ratio {w_new / w_old:.2f}; goal <= {GOALS['warm_s']} s)")
    print_launch(launch)
    print(f"   first start: {f_new:.2f} s vs {f_old:.2f} s  (ratio {f_new / f_old:.2f}; goal <= {GOALS['first_s']} s)")
    print(f"   app peak memory: {new['app_peak_mb']:.0f} MB vs {old['app_peak_mb']:.0f} MB  "
          f"(ratio {new['app_peak_mb'] / old['app_peak_mb']:.2f}; goal <= {GOALS['app_mb']} MB)")

    photo = sorted(photos.glob("*.jpg"))[0]
    with tempfile.TemporaryDirectory() as home:
        serve = {b: round(serve_memory(b, photo, Path(home)), 1) for b in ("auto", "torch")}
    out["serve_mb"] = serve
    print(f"\n2. serve resident memory after 16 answers: {serve['auto']:.0f} MB vs {serve['torch']:.0f} MB "
          f"(ratio {serve['auto'] / serve['torch']:.2f}; goal <= {GOALS['serve_mb']} MB)")

    gflop, peak = model_gflop(model), peak_gflops()
    limit = peak / gflop
    out.update(gflop_per_photo=round(gflop, 3), peak_gflops=round(peak, 1), limit_photos_per_s=round(limit, 1))
    if fold0:
        labels, rates = {}, {}
        backends = ["auto", "torch"] + (["onnx-int8"] if calibration else [])
        with tempfile.TemporaryDirectory() as home:  # int8 is quantised afresh for this model
            for backend in backends:
                extra = ["--model", str(model)] + (["--calibration", str(calibration)]
                                                   if backend == "onnx-int8" else [])
                labels[backend], rates[backend] = classify_folder(backend, fold0, extra, home)
        truth = {p: p.split("/")[0] for p in labels["auto"]}
        acc = {b: sum(labels[b][p] == t for p, t in truth.items()) / len(truth) for b in labels}
        agree = sum(labels["auto"][p] == labels["torch"][p] for p in truth) / len(truth)
        if "onnx-int8" in labels:
            print(f"   int8 (static, calibrated on {calibration}): top-1 {acc['onnx-int8']:.2%} "
                  f"({(acc['onnx-int8'] - acc['auto']) * 100:+.2f} points against fp32), "
                  f"{rates['onnx-int8']:.1f} photos/s (ratio {rates['onnx-int8'] / rates['auto']:.2f} to fp32)")
        out["fold0"] = {"photos": len(truth), "top1": acc, "agreement": agree, "photos_per_s": rates}
        print(f"\n3. classify {len(truth)} photos: {rates['auto']:.1f} photos/s without torch vs "
              f"{rates['torch']:.1f} with torch (ratio {rates['auto'] / rates['torch']:.2f})")
        print(f"   physical limit: {gflop:.2f} GFLOP a photo at {peak:.0f} GFLOP/s (fp32 matrix "
              f"products) = {limit:.0f} photos/s; reached {rates['auto'] / limit:.0%} of it")
        print(f"\n4. held-out top-1: {acc['auto']:.2%} without torch, {acc['torch']:.2%} with torch; "
              f"top-1 agreement {agree:.2%}")
        sample = sorted(fold0.rglob("*.jpg"))[:256]
        ov = openvino_rate(model, sample)
        if ov is None:
            print("\n5. OpenVINO: not installed (pip install openvino) - not measured")
        else:
            import numpy as np

            from assistant.inference.onnx_backend import OnnxClassifier
            from assistant.inference.vision import load_image
            clf = OnnxClassifier(model)
            arrays = [clf.preprocessing.array(load_image(p)) for p in sample]
            batches = [np.concatenate(arrays[i:i + 32]) for i in range(0, len(arrays), 32)]
            t0 = time.perf_counter()
            ort_labels = [clf.class_ids[i] for b in batches for i in clf.logits(b).argmax(1)]
            ort_rate = len(arrays) / (time.perf_counter() - t0)
            same = sum(a == b for a, b in zip(ov["labels"], ort_labels, strict=True)) / len(sample)
            out["openvino"] = {"model_only_per_s": ov["model_only_per_s"], "onnxruntime_per_s": round(ort_rate, 1),
                               "agreement": same}
            print(f"\n5. model only, {len(sample)} photos in batches of 32: OpenVINO {ov['model_only_per_s']:.1f} "
                  f"photos/s vs ONNX Runtime {ort_rate:.1f} (ratio {ov['model_only_per_s'] / ort_rate:.2f}); "
                  f"top-1 agreement {same:.1%}")
    out["load_after"] = os.getloadavg()[0]
    print(f"\nload average at the end {out['load_after']:.1f}")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
