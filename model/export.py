"""Export a checkpoint to ONNX (fp32, or int8 calibrated on real photos) for ONNX Runtime.

`python -m model.export MODEL [--out FILE] [--int8 --calibration DIR]` writes the .onnx beside
the checkpoint. `python -m model.export --ready MODEL...` makes the files the runtime looks
for (assistant/inference/onnx_backend.py): named by the checkpoint's SHA-256, in `onnx/` beside it (the
set-up command does this for the bundled models) or, where that folder is read-only, in the
user cache, so a changed model is never served from a stale export.
"""
from __future__ import annotations

import argparse
import sys

from assistant.files import photos_in
from assistant.inference.export import (
    calibration_arrays,
    ensure_features_onnx,
    export_onnx,
    make_ready,
    quantize_int8,
)
from assistant.inference.onnx_files import ONNX_FOLDER, ExportError, remove_orphans


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.export", description=__doc__.split("\n")[0])
    parser.add_argument("model", nargs="+", help="checkpoint (.safetensors); several with --ready")
    parser.add_argument("--out", help="ONNX file to write (default: beside the checkpoint)")
    parser.add_argument("--int8", action="store_true", help="also write a static int8 version")
    parser.add_argument("--calibration", metavar="DIR", help="real photos to calibrate int8 on")
    parser.add_argument("--ready", action="store_true",
                        help="make the runtime's ONNX file of each model (onnx/<sha256>.onnx "
                             "beside it) and its features file (<sha256>.features.onnx, what "
                             "fast retraining reads photos through), unless valid ones exist")
    args = parser.parse_args(argv)
    from assistant.inference.checkpoint import CheckpointError, read_metadata
    if len(args.model) > 1 and not args.ready:
        parser.error("several models only with --ready")
    try:
        if args.ready:
            made = []
            for model in args.model:
                read_metadata(model)  # a damaged or foreign file is refused in one line
                made.append(make_ready(model))
                print(made[-1])
                print(ensure_features_onnx(model))  # what fast retraining reads photos through
            for folder in {p.parent for p in made if p.parent.name == ONNX_FOLDER}:
                # exports of models no longer beside it (earlier versions of these files)
                remove_orphans(folder, list(folder.parent.glob("*.safetensors")))
            return 0
        fp32 = export_onnx(args.model[0], args.out)
        print(fp32)
        if args.int8:
            if not args.calibration:
                parser.error("--int8 needs --calibration DIR (real photos)")
            q = fp32.with_name(fp32.stem + ".int8.onnx")
            quantize_int8(fp32, q, calibration_arrays(photos_in(args.calibration), args.model[0]),
                          args.model[0])
            print(q)
    except (CheckpointError, ExportError, FileNotFoundError) as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
