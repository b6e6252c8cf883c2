"""Which faster ways of running a model keep its answers: measured in one run on the same photos.

usage: python scripts/speed_levers.py [MODEL] [--photos DIR] [--only NAME,...] [--calibration N]

Every variant answers the same preprocessed photos (the model's recorded held-out photos, or
--photos DIR with one sub-folder per product); each is compared with ONNX Runtime fp32: top-1
agreement, top-1 against the folder names, model-only photos/s (batches of 32) and the ratio
to fp32's rate. A variant is lossless by the rule of assistant.inference.precision (>= 99.5%
agreement, <= 0.3 points of top-1 lost). Variants:
  ort-fp32            the reference
  ort-int8            static QDQ int8, per-channel weights (what model.precision builds)
  ort-int8-nodw       the same with the depthwise convolutions left in fp32
  ort-int8-nodw-ends  ... and the first convolution and the classifier head too
  ort-int8-conv       only the convolutions in int8 (the residual additions, the head and the
                      mirror average stay fp32); -gemm: and the head; -nostem: but not the first
  ort-int8-nostem     all but the first convolution in int8
  ort-int8-nohead     all but the head and the mirror average (Gemm, Slice, Add, Div) in int8
  ort-int8-pct        percentile calibration (99.999)
  ov-f32, ov-bf16     OpenVINO, INFERENCE_PRECISION_HINT f32 / bf16 (bf16 only where the CPU has it)
  ov-nncf-int8        OpenVINO's int8 made by NNCF (symmetric activations; -mixed: asymmetric)
  ov-int8-nohead      OpenVINO on ort-int8-nohead's QDQ file
  ov-int8-nodw        OpenVINO on ort-int8-nodw's QDQ file
An experiment for docs/speed.md, not a test; the figures depend on the load, hence the ratios.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.inference.precision import AGREEMENT_MIN, decide  # noqa: E402
from assistant.machine import cpu_flags, cpu_name  # noqa: E402

BATCH = 32
DEFAULT_MODEL = ROOT / "model/bundled/efficientnet-lite2-freiburg.safetensors"


def heldout(model: Path, photos: str | None):
    from assistant.inference.checkpoint import read_metadata
    from model.precision import recorded_photos
    if photos:
        root = Path(photos)
        return [(f, f.parent.name) for f in sorted(root.rglob("*")) if f.suffix.lower() in (".png", ".jpg", ".jpeg")]
    _, held = recorded_photos(read_metadata(model))
    return held


def arrays(clf, pairs):
    import numpy as np

    from assistant.inference.vision import load_image
    known = set(clf.class_ids)
    xs, truth = [], []
    for photo, product in pairs:
        if product in known:
            xs.append(clf.preprocessing.array(load_image(photo)))
            truth.append(product)
    return [np.concatenate(xs[i:i + BATCH]) for i in range(0, len(xs), BATCH)], truth


def depthwise_and_ends(onnx_path: Path) -> tuple[list[str], list[str], list[str]]:
    """(depthwise Conv node names, [first Conv, last Gemm/MatMul], the nodes from the head on)
    of a graph."""
    import onnx
    graph = onnx.load(str(onnx_path)).graph
    dw = [n.name for n in graph.node if n.op_type == "Conv"
          and any(a.name == "group" and a.i > 1 for a in n.attribute)]
    convs = [n.name for n in graph.node if n.op_type == "Conv"]
    heads = [n.name for n in graph.node if n.op_type in ("Gemm", "MatMul")]
    at = [i for i, n in enumerate(graph.node) if n.op_type in ("Gemm", "MatMul")][-1]
    return dw, convs[:1] + heads[-1:], [n.name for n in graph.node[at:]]


def quantize(fp32: Path, out: Path, calib: list, exclude: list[str], method: str = "minmax",
             ops: list[str] | None = None) -> Path:
    import numpy as np
    from onnxruntime import quantization as oq
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(oq.CalibrationDataReader):
        def __init__(self):
            self.it = iter(calib)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {"input": np.ascontiguousarray(x, dtype=np.float32)}

    with tempfile.TemporaryDirectory() as work:
        pre = Path(work) / "pre.onnx"
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
        extra = {"CalibPercentile": 99.999} if method == "percentile" else {}
        oq.quantize_static(str(pre), str(out), Reader(), quant_format=oq.QuantFormat.QDQ,
                           per_channel=True, activation_type=oq.QuantType.QUInt8,
                           weight_type=oq.QuantType.QInt8, nodes_to_exclude=exclude, op_types_to_quantize=ops,
                           calibrate_method=(oq.CalibrationMethod.Percentile if method == "percentile"
                                             else oq.CalibrationMethod.MinMax), extra_options=extra)
    return out


def ort_runner(path: Path):
    import onnxruntime as ort
    o = ort.SessionOptions()
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    s = ort.InferenceSession(str(path), o, providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    return lambda b: s.run(None, {name: b})[0]


def ov_runner(path: Path, hint: str | None):
    import openvino as ov
    # LATENCY: one stream on all cores; THROUGHPUT makes a stream per core, and one blocking
    # call then runs on one of them
    config = {"PERFORMANCE_HINT": "LATENCY"} | ({"INFERENCE_PRECISION_HINT": hint} if hint else {})
    compiled = ov.Core().compile_model(str(path), "CPU", config)
    return lambda b: compiled(b)[0]


def nncf_int8(fp32: Path, out: Path, calib: list, preset: str = "performance",
              ignored: list[str] | None = None) -> Path:
    """OpenVINO's own post-training int8 (NNCF: min-max ranges and bias correction), kept as
    OpenVINO IR (out.xml + out.bin)."""
    import nncf
    import openvino as ov
    model = ov.Core().read_model(str(fp32))
    q = nncf.quantize(model, nncf.Dataset(calib), subset_size=len(calib),
                      preset=nncf.QuantizationPreset.MIXED if preset == "mixed" else nncf.QuantizationPreset.PERFORMANCE,
                      ignored_scope=nncf.IgnoredScope(names=ignored or []))
    ov.save_model(q, str(out))
    return out


def timed(run, batches):
    import numpy as np
    run(batches[0])  # warm
    t0 = time.perf_counter()
    top = [int(i) for b in batches for i in np.asarray(run(b)).argmax(1)]
    return top, len(top) / (time.perf_counter() - t0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", nargs="?", default=str(DEFAULT_MODEL))
    p.add_argument("--photos", help="folder of held-out photos, one sub-folder per product")
    p.add_argument("--only", help="comma-separated variants (default: all)")
    p.add_argument("--calibration", type=int, default=64, help="training photos to calibrate int8 on")
    p.add_argument("--work", default=tempfile.gettempdir() + "/speed-levers", help="where int8 files go")
    args = p.parse_args(argv)
    from assistant.inference.checkpoint import read_metadata
    from assistant.inference.export import calibration_arrays
    from assistant.inference.onnx_backend import OnnxClassifier
    from model.precision import recorded_photos

    model = Path(args.model)
    ref = OnnxClassifier(model)
    batches, truth = arrays(ref, heldout(model, args.photos))
    n = len(truth)
    load0 = os.getloadavg()[0]
    print(f"{model.name} on {cpu_name()}, load {load0:.1f}; {n} photos; fp32 file {ref.onnx_path}")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    dw, ends, tail = depthwise_and_ends(ref.onnx_path)
    train, _ = recorded_photos(read_metadata(model))
    calib = None

    def int8(name, exclude, method="minmax", ops=None):
        nonlocal calib
        out = work / f"{name}.{args.calibration}.onnx"
        if not out.is_file():
            calib = calib if calib is not None else calibration_arrays(train, model, args.calibration)
            t0 = time.perf_counter()
            quantize(ref.onnx_path, out, calib, exclude, method, ops)
            print(f"   ({name}: quantised in {time.perf_counter() - t0:.0f} s, {len(exclude)} nodes kept fp32)")
        return out

    def nncf_file(name, preset="performance"):
        nonlocal calib
        out = work / f"{name}.{args.calibration}.xml"
        if not out.is_file():
            calib = calib if calib is not None else calibration_arrays(train, model, args.calibration)
            t0 = time.perf_counter()
            nncf_int8(ref.onnx_path, out, calib, preset)
            print(f"   ({name}: quantised in {time.perf_counter() - t0:.0f} s)")
        return out

    bf16 = bool({"avx512_bf16", "amx_bf16"} & cpu_flags())
    variants = {
        "ort-fp32": lambda: ort_runner(ref.onnx_path),
        "ort-int8": lambda: ort_runner(int8("int8", [])),
        "ort-int8-nodw": lambda: ort_runner(int8("int8-nodw", dw)),
        "ort-int8-nodw-ends": lambda: ort_runner(int8("int8-nodw-ends", dw + ends)),
        "ort-int8-conv": lambda: ort_runner(int8("int8-conv", [], ops=["Conv"])),
        "ort-int8-conv-gemm": lambda: ort_runner(int8("int8-conv-gemm", [], ops=["Conv", "Gemm"])),
        "ort-int8-conv-nostem": lambda: ort_runner(int8("int8-conv-nostem", ends[:1], ops=["Conv"])),
        "ort-int8-nostem": lambda: ort_runner(int8("int8-nostem", ends[:1])),
        "ort-int8-nohead": lambda: ort_runner(int8("int8-nohead", tail)),
        "ort-int8-pct": lambda: ort_runner(int8("int8-pct", [], "percentile")),
        "ov-f32": lambda: ov_runner(ref.onnx_path, "f32"),
        "ov-bf16": (lambda: ov_runner(ref.onnx_path, "bf16")) if bf16 else None,
        "ov-nncf-int8": lambda: ov_runner(nncf_file("nncf-int8"), None),
        "ov-nncf-int8-mixed": lambda: ov_runner(nncf_file("nncf-int8-mixed", "mixed"), None),
        "ov-int8-nohead": lambda: ov_runner(int8("int8-nohead", tail), None),
        "ov-int8-nodw": lambda: ov_runner(int8("int8-nodw", dw), None),
    }
    wanted = args.only.split(",") if args.only else list(variants)
    ids = ref.class_ids
    top_ref, rate_ref = timed(variants["ort-fp32"](), batches)
    acc_ref = sum(ids[t] == y for t, y in zip(top_ref, truth, strict=True)) / n
    print(f"{'variant':20} {'agree':>7} {'top-1':>7} {'photos/s':>9} {'x fp32':>7}  lossless")
    print(f"{'ort-fp32':20} {1:7.1%} {acc_ref:7.2%} {rate_ref:9.1f} {1:7.2f}  (reference)")
    for name in wanted:
        make = variants.get(name)
        if name == "ort-fp32":
            continue
        if make is None:
            print(f"{name:20} not measured on this CPU")
            continue
        top, rate = timed(make(), batches)
        agree = sum(a == b for a, b in zip(top, top_ref, strict=True)) / n
        acc = sum(ids[t] == y for t, y in zip(top, truth, strict=True)) / n
        ok = decide(agree, acc_ref, acc) == "int8"
        print(f"{name:20} {agree:7.1%} {acc:7.2%} {rate:9.1f} {rate / rate_ref:7.2f}  "
              f"{'yes' if ok else 'no'} ({n - round(agree * n)} photos differ)", flush=True)
    print(f"load at the end {os.getloadavg()[0]:.1f}; lossless = >= {AGREEMENT_MIN:.1%} agreement "
          "and <= 0.3 points lost")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
