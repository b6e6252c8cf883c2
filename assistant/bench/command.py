"""`python main.py bench`: speed figures of the live assistant on this machine.

Prints (a benchmark, not a test: it measures and reports, it does not fail):
  1. ms per frame of classification (one frame at a time, as the app does): eager fp32,
     fp32 + channels_last, bf16 + channels_last, 1 thread, ONNX Runtime, preprocessing alone;
  2. frames read and frames classified per second while a source plays (default: the demo);
  3. time from a product appearing in a replayed clip to the start of its speech (goal
     <= 400 ms), plus how long espeak-ng takes to synthesise a name before sound starts;
  4. start-up time of a fresh process to "ready" (model loaded, first frame classified;
     goal <= 3 s);
  5. resident memory sampled over --minutes of running (the issue asks for 10: flat?);
  6. runtime (assistant/bench/runtime.py): the app, `serve` and `classify` without torch
     against the torch path, each figure as a ratio measured in the same run;
  launch: `main.py app` to its first product word, warm, as a ratio to `python -c pass`;
  api, backends, barcodes, barcode-import, dates, engines, reading, retrain: the benchmarks of
     the other rooms (STANDALONE), one at a time: `bench --only api -- --seconds 8`;
  calibrate: the figures behind the announcer's thresholds, for a model and a photo folder
     (assistant/bench/calibrate.py), alone as well: `bench --only calibrate -- --data DIR`;
  limit (assistant/bench/limit.py, first): the default model's precision on this CPU kind, one
     frame, `classify` photos/s against the physical limit (fp32, int8, and bf16 where the CPU
     has bf16 units), OpenVINO as a peer.
Parts 2-5 run the real pipeline with the classifier --backend names (auto by default, as
the window: ONNX Runtime on a CPU). Heavy imports live inside the functions so `--help`
stays instant.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

#: parts of the default run that live in modules of their own: module:function(model, args)
PARTS_ELSEWHERE = {"limit": "assistant.bench.limit:part", "launch": "assistant.bench.runtime:launch_part",
                   "runtime": "assistant.bench.runtime:part"}
#: benchmarks of other rooms, run one at a time with flags of their own: module:main(argv)
STANDALONE = {"api": "assistant.bench.api:main", "backends": "assistant.bench.backends:main",
              "barcodes": "assistant.bench.barcodes:main",
              "barcode-import": "assistant.bench.barcode_import:main",
              "calibrate": "assistant.bench.calibrate:main",
              "dates": "assistant.bench.dates:main", "engines": "assistant.bench.engines:main",
              "reading": "assistant.bench.reading:main", "retrain": "assistant.bench.retrain:main"}
GOAL_LATENCY_MS = 400
GOAL_STARTUP_S = 3.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, help="checkpoint (default: the active model; a "
                        "random 25-product ResNet-18 stand-in if there is none)")
    parser.add_argument("--source", default="demo",
                        help="what plays for sections 2 and 5: demo, a video, a photo folder")
    parser.add_argument("--frames", type=int, default=20, help="frames timed per variant")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of play (section 2)")
    parser.add_argument("--minutes", type=float, default=1.0,
                        help="minutes of running while memory is sampled (the issue: 10)")
    parser.add_argument("--fps", type=float, default=15.0, help="frame rate of the replayed clip")
    parser.add_argument("--only", nargs="+", metavar="PART",
                        choices=["classify", "play", "latency", "startup", "memory", *PARTS_ELSEWHERE,
                                 *STANDALONE],
                        help="run only these parts; " + ", ".join(STANDALONE) + ": one alone, its own "
                             "flags after -- (`bench --only api -- --help`)")
    parser.add_argument("--backend", default="auto", choices=["torch", "auto", "onnx"],
                        help="classifier of the live parts (2-5): auto is what the window uses "
                             "(ONNX Runtime on a CPU, PyTorch on an NVIDIA GPU)")
    parser.add_argument("--fold0", type=Path, metavar="DIR",
                        help="part 6: held-out photos, a folder per product "
                             "(scripts/heldout_folder.py), for accuracy and classify speed")
    parser.add_argument("--threads", type=int,
                        help="torch threads for the whole run (default: torch's choice)")
    parser.add_argument("--votes", metavar="K/N",
                        help="announcer agreement K of a window of N frames (default: settings)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("part_flags", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def _elsewhere(spec: str):
    import importlib
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def run(args: argparse.Namespace) -> int:
    if args.only and set(args.only) & STANDALONE.keys():
        if len(args.only) != 1:
            raise ValueError(f"--only {args.only[0]}: a part with flags of its own runs alone")
        flags = args.part_flags[1:] if args.part_flags[:1] == ["--"] else args.part_flags
        return _elsewhere(STANDALONE[args.only[0]])(flags) or 0
    if args.part_flags:
        raise ValueError(f"unknown flags {' '.join(args.part_flags)} (after --: only with "
                         f"--only {' | '.join(STANDALONE)})")
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    args.vote_pair = None
    if args.votes:
        try:
            k, n = (int(v) for v in args.votes.split("/"))
        except ValueError:
            raise ValueError(f"--votes {args.votes}: expected K/N, e.g. 3/5") from None
        args.vote_pair = (k, n)
    model = resolve_model(args.model)
    parts = args.only or ["limit", "launch", "classify", "play", "latency", "startup", "memory", "runtime"]
    print(f"model: {model}, live parts on backend {args.backend}\n"
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"CUDA {'yes' if torch.cuda.is_available() else 'no'}; the figures depend on what "
          f"else the machine is doing")
    figures: dict = {"model": str(model)}
    for part in parts:
        here = {"classify": bench_classify, "play": bench_play, "latency": bench_latency,
                "startup": bench_startup, "memory": bench_memory}
        figures[part] = (here[part] if part in here else _elsewhere(PARTS_ELSEWHERE[part]))(model, args)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
        print(f"\nfigures written to {args.json}")
    return 0


def resolve_model(model: Path | None) -> Path:
    """--model, else the active model, else a random stand-in shaped like the bundled one."""
    if model is not None:
        return model
    from assistant.bench.backends import default_model
    path, what = default_model()
    if "stand-in" in what:
        print(f"(timing a {what}: speed does not depend on weights, but it recognises nothing, "
              "so there is no latency figure)")
    return path


def frame_stats(ms: list[float]) -> dict:
    ms = sorted(ms)  # p90 by nearest rank: never below the median, whatever the count
    return {"median_ms": round(statistics.median(ms), 1),
            "p90_ms": round(ms[max(0, math.ceil(0.9 * len(ms)) - 1)], 1), "n": len(ms)}


def bench_classify(model: Path, args) -> dict:
    """One 640x480 frame at a time, as the live app classifies."""
    import numpy as np
    import torch

    from assistant.inference.classifier import Classifier
    print("\n1. Classification, one 640x480 frame at a time (median / p90 ms per frame):")
    clf = Classifier(model, device="cpu", bf16=False)
    frame = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    out = {}

    def timed(fn, n=args.frames):
        for _ in range(3):
            fn()
        ms = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t0) * 1000)
        return frame_stats(ms)

    from assistant.inference.classifier import cpu_has_bf16
    out["preprocess"] = timed(lambda: clf.preprocessing.tensor(frame))
    x = clf.preprocessing.tensor(frame)
    plain = Classifier(model, device="cpu", bf16=False)
    plain.model = plain.model.to(memory_format=torch.contiguous_format)

    def eager():
        with torch.inference_mode():
            plain.model(x.contiguous())
    threads = torch.get_num_threads()
    out["fp32"] = timed(eager)
    out["fp32_channels_last"] = timed(lambda: clf.logits(x))
    clf.bf16 = True
    native = cpu_has_bf16()
    # emulated bf16 (no AVX512-BF16/AMX) is several times slower: time fewer frames
    out["bf16_channels_last"] = timed(lambda: clf.logits(x), args.frames if native else 5)
    clf.bf16 = False
    torch.set_num_threads(1)
    out["fp32_channels_last_1_thread"] = timed(lambda: clf.logits(x))
    torch.set_num_threads(threads)
    app = Classifier(model, device="cpu")
    out["app_predict"] = timed(lambda: app.predict(frame))
    try:
        from assistant.inference.onnx_backend import open_classifier
        onnx = open_classifier(model, "onnx", device="cpu", threads=args.threads)
        out["onnx_predict"] = timed(lambda: onnx.predict(frame))
        auto = open_classifier(model, "auto", device="cpu", threads=args.threads)
        out["auto_predict"] = timed(lambda: auto.predict(frame))
        out["auto_backend"] = auto.backend
    except Exception as exc:   # no ONNX Runtime, or a model it cannot export
        print(f"   (ONNX Runtime not timed: {exc})")
    rows = (("preprocess", "preprocessing (crop, resize, normalise)"),
            ("fp32", f"model, eager fp32, {threads} threads"),
            ("fp32_channels_last", "model, fp32 + channels_last"),
            ("bf16_channels_last", f"model, bf16 + channels_last ({'native' if native else 'emulated'})"),
            ("fp32_channels_last_1_thread", "model, fp32 + channels_last, 1 thread"),
            ("app_predict", f"whole predict(), PyTorch ({'bf16' if app.bf16 else 'fp32'})"),
            ("onnx_predict", "whole predict(), ONNX Runtime fp32"),
            ("auto_predict", f"whole predict(), the app's: {out.get('auto_backend', 'auto')}"))
    for name, label in rows:
        if name not in out:
            continue
        print(f"   {label:<52}{out[name]['median_ms']:>8.1f} {out[name]['p90_ms']:>8.1f}")
    return out


def _assistant(model: Path, source, args, on_event=None, engine=None):
    from assistant.inference.onnx_backend import open_classifier
    from assistant.live.announcer import Announcer
    from assistant.live.pipeline import Assistant
    from assistant.live.settings import Settings
    from assistant.live.speech import SilentEngine, Speaker
    settings = Settings()
    if getattr(args, "vote_pair", None):
        settings.announcer.agreement, settings.announcer.window = args.vote_pair
    speaker = Speaker(engine or SilentEngine())
    classifier = open_classifier(model, args.backend, threads=args.threads)
    assistant = Assistant(classifier, source, speaker, Announcer(settings.announcer),
                          settings, on_event=on_event, say_ready=False)
    return assistant, speaker


def bench_play(model: Path, args) -> dict:
    from assistant.live.camera import open_source
    print(f"\n2. Playing {args.source} for {args.seconds:.0f} s:")
    assistant, speaker = _assistant(model, open_source(args.source), args)
    assistant.start()
    time.sleep(min(5.0, args.seconds / 4))          # warm-up
    seen0, done0, t0 = assistant.frames_seen, assistant.frames_classified, time.monotonic()
    time.sleep(args.seconds)
    dt = time.monotonic() - t0
    seen, done = assistant.frames_seen - seen0, assistant.frames_classified - done0
    ms = list(assistant.classify_ms)
    assistant.stop()
    speaker.close()
    out = {"frames_read_per_s": round(seen / dt, 1), "frames_classified_per_s": round(done / dt, 1),
           "classify_ms": frame_stats(ms) if ms else None}
    print(f"   frames read {out['frames_read_per_s']}/s, classified {out['frames_classified_per_s']}/s"
          f" (the rest are dropped as stale), vision + model "
          f"{out['classify_ms']['median_ms'] if ms else '-'} ms median")
    return out


class _Clip:
    """The demo photos as a replayed clip; remembers when each product came into view."""

    def __init__(self, fps: float):
        from assistant.live.camera import DemoSource
        self.source = DemoSource(loop=False)
        self.source.fps = fps
        self.expected = self.source.expected()
        self.appeared: list[tuple[float, str]] = []
        self._showing = None
        self._read = self.source.read
        self.source.read = self.read

    def read(self):
        frame = self._read()
        showing = self.source.showing
        if showing is not None and showing != self._showing:
            self.appeared.append((time.monotonic(), self.expected.get(showing.name, "?")))
        self._showing = showing
        return frame


def bench_latency(model: Path, args) -> dict:
    from assistant.inference.checkpoint import read_metadata
    pair = getattr(args, "vote_pair", None)
    votes = f"{pair[0]} of {pair[1]}" if pair else "default"
    print(f"\n3. Product appears in a replayed clip ({args.fps:.0f} fps) -> speech starts "
          f"(goal <= {GOAL_LATENCY_MS} ms; {votes} votes):")
    clip = _Clip(args.fps)
    known = {c["id"] for c in read_metadata(model)["classes"]}
    if not set(clip.expected.values()) & known:
        print("   n/a: the model does not know the demo's products")
        return {"latency_ms": None}
    spoken: list[tuple[float, str]] = []
    lock = threading.Lock()

    def on_event(name, payload):
        if name == "utterance":
            with lock:
                spoken.append((None, payload["id"]))
        elif name == "spoken" and payload["kind"] == "product":
            with lock:
                spoken.append((payload["time"], payload["words"]))

    assistant, speaker = _assistant(model, clip.source, args, on_event)
    assistant.start()
    while not assistant.source_ended:
        time.sleep(0.1)
    speaker.wait_idle(5)
    assistant.stop()
    speaker.close()
    starts = [t for t, _ in spoken if t is not None]
    ids = [i for t, i in spoken if t is None]
    latencies, rows = [], []
    for k, (t_in, expected) in enumerate(clip.appeared):
        t_out = clip.appeared[k + 1][0] if k + 1 < len(clip.appeared) else float("inf")
        first = next((s for s in starts if t_in <= s < t_out), None)
        rows.append((expected, None if first is None else (first - t_in) * 1000))
        if first is not None:
            latencies.append((first - t_in) * 1000)
    for expected, ms in rows:
        print(f"   {expected:<14}{'not announced' if ms is None else f'{ms:7.0f} ms'}")
    synth = _synth_ms()
    out = {"latency_ms": frame_stats(latencies) if latencies else None, "said": ids,
           "missed": sum(ms is None for _, ms in rows), "espeak_synth_ms": synth}
    if latencies:
        print(f"   median {out['latency_ms']['median_ms']:.0f} ms, worst {max(latencies):.0f} ms, "
              f"{out['missed']} of {len(rows)} not announced; the engine then needs "
              f"{synth if synth is not None else '?'} ms (espeak-ng) before sound")
    return out


def _synth_ms() -> float | None:
    from assistant.live.speech import EspeakEngine, SpeechError
    try:
        engine = EspeakEngine()
        with tempfile.TemporaryDirectory() as tmp:
            engine.synthesize_to_file("milk", "en", Path(tmp) / "w.wav")    # warm the cache
            t0 = time.perf_counter()
            engine.synthesize_to_file("orange juice", "en", Path(tmp) / "w.wav")
            return round((time.perf_counter() - t0) * 1000, 1)
    except SpeechError:
        return None


STARTUP_CHILD = """
import sys, time, threading
from assistant.live.announcer import Announcer
from assistant.live.camera import open_source
from assistant.inference.onnx_backend import open_classifier
from assistant.live.pipeline import Assistant
from assistant.live.settings import Settings
from assistant.live.speech import Speaker, make_engine
ready = threading.Event()
s = Settings()
threads = int(sys.argv[3]) or None
a = Assistant(open_classifier(sys.argv[1], sys.argv[4], threads=threads), open_source(sys.argv[2]),
              Speaker(make_engine("silent")),
              Announcer(s.announcer), s, on_event=lambda n, p: ready.set() if n == "ready" else None,
              say_ready=False)
a.start()
ready.wait(60)
print("READY", flush=True)
a.stop()
"""


def bench_startup(model: Path, args) -> dict:
    print(f"\n4. Start-up of a fresh process to 'ready' (goal <= {GOAL_STARTUP_S:.0f} s):")
    times = []
    for _ in range(3):
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-c", STARTUP_CHILD, str(model), "demo",
                                 str(args.threads or 0), args.backend],
                                stdout=subprocess.PIPE, text=True)
        for line in proc.stdout:
            if line.startswith("READY"):
                times.append(time.monotonic() - t0)
                break
        proc.wait(60)
    out = {"seconds": [round(t, 2) for t in times]}
    print(f"   {', '.join(f'{t:.2f} s' for t in times)} (python + torch import, model load, "
          f"demo source, first frame classified)")
    return out


def bench_memory(model: Path, args) -> dict:
    import psutil

    from assistant.live.camera import open_source
    seconds = args.minutes * 60
    print(f"\n5. Resident memory over {args.minutes:g} min of {args.source}:")
    proc = psutil.Process()
    assistant, speaker = _assistant(model, open_source(args.source), args)
    assistant.start()
    samples = []
    step = max(1.0, seconds / 20)
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        samples.append((time.monotonic() - t0, proc.memory_info().rss / 2**20))
        time.sleep(step)
    samples.append((time.monotonic() - t0, proc.memory_info().rss / 2**20))
    classified = assistant.frames_classified
    assistant.stop()
    speaker.close()
    warm = samples[len(samples) // 5][1]          # after the first fifth: caches are warm
    growth = samples[-1][1] - warm
    out = {"rss_mb": [(round(t), round(m, 1)) for t, m in samples], "growth_after_warmup_mb":
           round(growth, 1), "frames_classified": classified}
    print("   " + ", ".join(f"{t:.0f}s {m:.0f}MB" for t, m in samples))
    print(f"   {classified} frames classified; after warm-up {warm:.0f} MB -> {samples[-1][1]:.0f} MB"
          f" ({growth:+.1f} MB: {'flat' if abs(growth) < 10 else 'NOT flat'})")
    return out
