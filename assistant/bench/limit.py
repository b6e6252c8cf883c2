"""`python main.py bench --only limit`: the default model on this CPU against its physical limit.

Prints, all measured in one run on the same photos (the model's held-out photos when they are
on this machine, else --source's photo folder):
  1. the precision chosen for the model on this CPU kind and the figures it rests on;
  2. one 640x480 frame through predict(), median / p90 ms, fp32, int8 and (a CPU with bf16
     units and OpenVINO installed) bf16, each also checked by fp32: a frame of noise (nothing in
     it is sure, the checked ones' worst case) and a product's photo;
  3. the matrix-product peak of this CPU measured now through ONNX Runtime (fp32 MatMul, int8
     MatMulInteger) and OpenVINO (bf16), the model's GFLOP a photo, and the photos/s limit
     they allow;
  4. `classify` of the photos end to end, photos/s per precision, and each as a ratio to its limit;
  5. OpenVINO as a peer on the same photos and ONNX files (model only, fp32 held to f32), clearly
     better only at CLEARLY_BETTER times ONNX Runtime's rate with the same answers (AGREEMENT_MIN);
     the runtime stays ONNX Runtime unless a quiet machine shows that.
A benchmark, not a test: the machine is shared, so every figure is paired with a ratio.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from assistant.inference.precision import AGREEMENT_MIN
from assistant.machine import cpu_kind, cpu_name, has_bf16

#: OpenVINO replaces ONNX Runtime only when this many times faster on the same photos
CLEARLY_BETTER = 1.3
#: the product timed: small enough that the best of many runs finds the CPU free even on a
#: loaded machine (at 1024 the fp32 product took 10-80 ms and the best of 7 still met the load)
MATMUL_N = 512
DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo"
PHOTOS = 300


def matmul_peak(precision: str, n: int = MATMUL_N, repeats: int = 40) -> float:
    """Giga-operations/s of an n x n matrix product on all cores, through the runtime that runs
    the model in that precision: ONNX Runtime's fp32 MatMul or u8 x s8 MatMulInteger, or
    OpenVINO's MatMul with bf16 products; best of repeats."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    int8 = precision == "int8"
    if int8:
        b = rng.integers(-127, 127, (n, n), dtype=np.int8)
        node = helper.make_node("MatMulInteger", ["a", "b"], ["c"])
        a_type, c_type = TensorProto.UINT8, TensorProto.INT32
        a = rng.integers(0, 255, (n, n), dtype=np.uint8)
    else:
        b = rng.standard_normal((n, n), dtype=np.float32)
        node = helper.make_node("MatMul", ["a", "b"], ["c"])
        a_type = c_type = TensorProto.FLOAT
        a = rng.standard_normal((n, n), dtype=np.float32)
    graph = helper.make_graph([node], "peak", [helper.make_tensor_value_info("a", a_type, [n, n])],
                              [helper.make_tensor_value_info("c", c_type, [n, n])],
                              [numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if precision == "bf16":
        import openvino as ov
        compiled = ov.Core().compile_model(ov.Core().read_model(model.SerializeToString(), b""), "CPU",
                                           {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "bf16"})
        run = lambda: compiled({0: a})  # noqa: E731
    else:
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        run = lambda: session.run(None, {"a": a})  # noqa: E731
    run()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def photo_folder(model: Path, fallback: Path, into: Path, limit: int = PHOTOS) -> Path:
    """A folder of up to `limit` photos, one sub-folder per product (links): the model's recorded
    held-out photos spread over its products, or the fallback folder as it is."""
    from assistant.inference.checkpoint import read_metadata
    from model.precision import recorded_photos
    _, held = recorded_photos(read_metadata(model))
    if not held:
        return fallback
    step = max(1, len(held) // limit)
    for photo, product in held[::step][:limit]:
        (into / product).mkdir(parents=True, exist_ok=True)
        (into / product / photo.name).symlink_to(Path(photo).resolve())
    return into


def product_frame(folder: Path):
    """The first photo of the folder, as a 640x480 camera frame."""
    import numpy as np
    from PIL import Image

    from assistant.inference.vision import load_image
    first = min(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return np.asarray(Image.fromarray(load_image(first)).resize((640, 480)))


def frame_ms(model: Path, backend: str, frames: int, product) -> list[dict]:
    """predict() on one 640x480 frame of noise (nothing in it is sure: the checked precisions'
    worst case), then on the product's frame, median / p90 ms, one classifier opened for both."""
    import numpy as np

    from assistant.bench.command import frame_stats
    from assistant.inference.onnx_backend import open_classifier
    clf = open_classifier(model, backend, device="cpu")
    out = []
    for frame in (np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8), product):
        for _ in range(3):
            clf.predict(frame)
        ms = []
        for _ in range(frames):
            t0 = time.perf_counter()
            clf.predict(frame)
            ms.append((time.perf_counter() - t0) * 1000)
        out.append(frame_stats(ms))
    return out


def part(model: Path, args) -> dict:
    """`bench --only limit`."""
    source = Path(args.source)
    return run(model, source if source.is_dir() else DEMO, args.frames)


def run(model: Path, source: Path, frames: int = 20) -> dict:
    """Measure and print every figure; returns them."""
    from assistant.bench.runtime import classify_folder, model_gflop
    from assistant.inference.onnx_files import find_onnx
    from assistant.inference.openvino_backend import openvino_available
    from assistant.inference.precision import read_choice
    out: dict = {"cpu": cpu_name(), "cpu_kind": cpu_kind(), "model": str(model),
                 "load_before": os.getloadavg()}
    print(f"\nLimit. {model.name} on {out['cpu']}, load {out['load_before'][0]:.1f}")
    choice = read_choice(model)
    out["precision"] = choice.__dict__ if choice else None
    print("   precision: " + (choice.line() if choice else
                              f"fp32 (int8 not measured on {cpu_kind()} CPUs: python -m model.precision)"))
    backends = ({"fp32": "onnx"} | ({"int8": "onnx-int8", "int8-checked": "onnx-int8-checked"}
                                    if find_onnx(model, True) else {})
                | ({"bf16": "openvino-bf16", "bf16-checked": "openvino-bf16-checked"}
                   if has_bf16() and openvino_available() else {}))
    with tempfile.TemporaryDirectory() as tmp:
        folder = photo_folder(model, source, Path(tmp) / "photos")
        pictures = {"frame_ms": "frame of noise", "product_frame_ms": "photo of a product"}
        product = product_frame(folder)
        timed = {p: frame_ms(model, b, frames, product) for p, b in backends.items()}
        for i, (key, words) in enumerate(pictures.items()):
            out[key] = {p: stats[i] for p, stats in timed.items()}
            for p, st in out[key].items():
                print(f"   one 640x480 {words}, {p}: {st['median_ms']:.1f} ms median, {st['p90_ms']:.1f} ms p90")
        gflop = model_gflop(model)
        runtime = {p: p.removesuffix("-checked") for p in backends}  # a checked one: its fast precision's
        peak_of = {r: matmul_peak(r) for r in set(runtime.values())}
        peaks = {p: peak_of[runtime[p]] for p in backends}
        limits = {p: peaks[p] / gflop for p in backends}
        out.update(gflop_per_photo=round(gflop, 3), peak_gops={p: round(v, 1) for p, v in peaks.items()},
                   limit_photos_per_s={p: round(v, 1) for p, v in limits.items()})
        print(f"   {gflop:.2f} GFLOP a photo; matrix-product peak now: "
              + ", ".join(f"{p} {peaks[p]:.0f} G/s -> limit {limits[p]:.0f} photos/s" for p in backends))
        rates, labels = {}, {}
        for p, b in backends.items():
            labels[p], rates[p] = classify_folder(b, folder, ["--model", str(model)])
        n = len(labels["fp32"])
        truth = {k: k.split("/")[0] for k in labels["fp32"]}
        out["classify"] = {p: {"photos_per_s": round(rates[p], 1), "ratio_to_limit": round(rates[p] / limits[p], 3),
                               "top1": round(sum(labels[p][k] == t for k, t in truth.items()) / n, 4)}
                           for p in backends}
        for p, c in out["classify"].items():
            print(f"   classify {n} photos end to end, {p}: {c['photos_per_s']:.1f} photos/s = "
                  f"{c['ratio_to_limit']:.0%} of its limit (top-1 {c['top1']:.1%} if folders are products)")
        for p in rates:
            if p != "fp32":
                print(f"   {p} / fp32 speed: {rates[p] / rates['fp32']:.2f}")
        out["openvino"] = openvino_peer(model, sorted(folder.rglob("*.jpg"))[:256],
                                        [p for p in backends if p in ("fp32", "int8")])
    out["load_after"] = os.getloadavg()
    print(f"   load average at the end {out['load_after'][0]:.1f}")
    return out


def openvino_peer(model: Path, photos: list[Path], backends: list[str]) -> dict | None:
    """OpenVINO and ONNX Runtime on the same ONNX files and photos, model only, batches of 32."""
    try:
        import openvino as ov
    except ImportError:
        print("   OpenVINO: not installed (pip install openvino) - not measured")
        return None
    import numpy as np

    from assistant.inference.onnx_backend import OnnxClassifier
    from assistant.inference.vision import load_image
    out = {}
    core = ov.Core()
    for p in backends:
        clf = OnnxClassifier(model, int8=p == "int8")
        arrays = [clf.preprocessing.array(load_image(f)) for f in photos]
        batches = [np.concatenate(arrays[i:i + 32]) for i in range(0, len(arrays), 32)]
        # f32 said outright: on a CPU with bf16 units OpenVINO otherwise computes fp32 graphs in
        # bf16 (measured here: 98.4% top-1 agreement with fp32, so not the same model)
        # LATENCY: one stream on all cores; THROUGHPUT makes a stream per core, and the one
        # blocking call a batch here makes then runs on one of them
        config = {"PERFORMANCE_HINT": "LATENCY"} | ({} if p == "int8" else {"INFERENCE_PRECISION_HINT": "f32"})
        compiled = core.compile_model(str(clf.onnx_path), "CPU", config)
        rate, ov_top = {}, {}
        for name, fn in (("onnxruntime", clf.logits), ("openvino", lambda b, c=compiled: c(b)[0])):
            fn(batches[0])
            t0 = time.perf_counter()
            ov_top[name] = [int(i) for b in batches for i in np.asarray(fn(b)).argmax(1)]
            rate[name] = len(arrays) / (time.perf_counter() - t0)
        ratio = rate["openvino"] / rate["onnxruntime"]
        same = sum(a == b for a, b in zip(ov_top["openvino"], ov_top["onnxruntime"], strict=True)) / len(arrays)
        better = ratio >= CLEARLY_BETTER and same >= AGREEMENT_MIN  # faster, and the same answers
        out[p] = {"openvino_per_s": round(rate["openvino"], 1), "onnxruntime_per_s": round(rate["onnxruntime"], 1),
                  "ratio": round(ratio, 2), "agreement": round(same, 4), "clearly_better": better}
        print(f"   OpenVINO {p}, model only, {len(arrays)} photos: {rate['openvino']:.1f} photos/s vs ONNX "
              f"Runtime {rate['onnxruntime']:.1f} (ratio {ratio:.2f}; top-1 agreement {same:.1%}): "
              + ("clearly better: worth adopting" if better else
                 f"not adopted (needs {CLEARLY_BETTER:.1f}x and {AGREEMENT_MIN:.1%} agreement)"))
    return out
