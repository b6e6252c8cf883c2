"""`classify DIR`: name the product in every photo of a folder (stock-taking) into a CSV.

The local engine (assistant.batch.local) decodes in threads beside the model; `--engine ray`
does the same on a Ray cluster (assistant.batch.on_ray: Ray Data and a pool of model actors).
This module holds the flags, picks the engine, and writes the report (CSV, JSON, summary).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path

from assistant.batch.photos import Report
from assistant.engines import add_engine_arguments, check_engine_arguments
from assistant.files import atomic_write_text
from assistant.inference.protocol import Classifier

CSV_COLUMNS = ("path", "label", "score", "top3")
#: with --text: the lines read on the pack (joined by " / ") and its dates (date:kind;...)
TEXT_COLUMNS = ("text", "dates")
SKIPPED_COLUMNS = ("path", "reason")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from assistant.inference.onnx_backend import add_backend_arguments
    parser.add_argument("folder", metavar="DIR", help="folder of photos")
    parser.add_argument("--out", metavar="FILE",
                        help="CSV to write (path,label,score,top3); default results.csv, or none "
                             "with --json; unreadable files go to FILE's .skipped.csv")
    parser.add_argument("--recursive", "-r", action="store_true", help="also look in sub-folders")
    parser.add_argument("--json", action="store_true",
                        help="print all results and skipped files as JSON on stdout")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="photos per model call")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), metavar="N",
                        help="threads that decode photos (local engine; on Ray, Ray Data's "
                             "tasks decode them)")
    parser.add_argument("--text", action="store_true",
                        help="also read the text and dates on each pack (text and dates columns; "
                             "about a second a photo on a laptop CPU; local engine only)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_backend_arguments(parser)
    parser.add_argument("--calibration", metavar="DIR",
                        help="photos to calibrate onnx-int8 on the first time (default: DIR)")
    add_engine_arguments(parser)


def find_files(folder: Path, recursive: bool, exclude: set[Path] = frozenset()) -> list[Path]:
    """Every visible file (not only *.jpg: a file that is no photo is reported, not ignored)."""
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder}: no such folder")
    pattern = folder.rglob("*") if recursive else folder.glob("*")
    found = []
    for path in pattern:
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.resolve() in exclude:
            continue
        found.append(path)
    return sorted(found)


def add_text(report: Report, root: Path, progress: bool = False, reader=None) -> None:
    """Read the text and dates on each classified photo into its Result. An engine that
    cannot be loaded is a UserError (one line); a photo it fails on gets empty columns."""
    from tqdm import tqdm

    from assistant.errors import UserError
    from assistant.reading import OcrUnavailable, open_reader
    if reader is None:
        reader, why = open_reader()
        if reader is None:
            raise UserError(f"--text: no text engine ({why})")
    for result in tqdm(report.results, unit="photo", desc="reading", file=sys.stderr,
                       disable=not progress, dynamic_ncols=True):
        try:
            reading = reader.read_photo(root / result.path)
        except OcrUnavailable as exc:
            raise UserError(f"--text: the text engine cannot be loaded ({exc})") from exc
        except Exception as exc:  # classified a moment ago: a reading failure costs its columns only
            print(f"classify: cannot read the text of {result.path}: {exc}", file=sys.stderr)
            result.text, result.dates = [], []
            continue
        result.text, result.dates = list(reading.lines), [d.to_dict() for d in reading.dates]


def format_top(top: list[tuple[str, float]]) -> str:
    return ";".join(f"{label}:{score:.4f}" for label, score in top)


def write_csv(report: Report, out: Path) -> Path | None:
    """Write results (and a .skipped.csv beside them if any file was skipped), atomically."""
    with_text = any(r.text is not None for r in report.results)
    rows = [(r.path, r.label, f"{r.score:.4f}", format_top(r.top))
            + ((" / ".join(r.text or []), ";".join(f"{d['date']}:{d['kind']}" for d in r.dates or []))
               if with_text else ())
            for r in report.results]
    _write_atomic(out, CSV_COLUMNS + (TEXT_COLUMNS if with_text else ()), rows)
    skipped = skipped_path(out)
    if report.skipped:
        _write_atomic(skipped, SKIPPED_COLUMNS, report.skipped)
        return skipped
    skipped.unlink(missing_ok=True)  # a stale list from an earlier run would mislead
    return None


def skipped_path(out: Path) -> Path:
    return out.with_name(out.stem + ".skipped.csv")


def _write_atomic(path: Path, header: tuple[str, ...], rows: list) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def to_json(report: Report, classifier: Classifier, folder: Path) -> dict:
    return {
        "folder": str(folder),
        "model": str(classifier.path),
        "model_version": classifier.checkpoint.version,
        "backend": classifier.backend,
        "classified": len(report.results),
        "skipped_count": len(report.skipped),
        "seconds": round(report.seconds, 3),
        "photos_per_second": round(report.photos_per_second, 2),
        "results": [{"path": r.path, "label": r.label, "score": round(r.score, 6), "names": r.names,
                     "top": [{"label": lab, "score": round(s, 6)} for lab, s in r.top],
                     **({"text": r.text, "dates": r.dates} if r.text is not None else {})}
                    for r in report.results],
        "skipped": [{"path": p, "reason": why} for p, why in report.skipped],
    }


def run(args: argparse.Namespace) -> int:
    from assistant.inference.onnx_backend import open_classifier
    from assistant.store.models import active_model_path

    check_engine_arguments(args)
    if getattr(args, "text", False) and args.engine == "ray":
        raise ValueError("--text reads on this machine: use it with --engine local")
    folder = Path(args.folder)
    if args.batch_size < 1 or args.workers < 1:
        raise ValueError("--batch-size and --workers must be at least 1")
    out = Path(args.out) if args.out else (None if args.json else Path("results.csv"))
    exclude = {p.resolve() for p in (out, out and skipped_path(out)) if p is not None}
    files = find_files(folder, args.recursive, exclude)
    if not files:   # nothing to classify: say so, and leave no empty results.csv behind
        print(f"classify: no files in {folder}" + ("" if args.recursive else " (try --recursive)"),
              file=sys.stderr)
        return 1
    model = Path(args.model) if args.model else active_model_path()
    calibration = None
    if args.backend.startswith("onnx-int8"):  # its int8 file is made once from photos
        calibration = find_files(Path(args.calibration), True) if args.calibration else files
    clf = open_classifier(model, args.backend, device=args.device, threads=args.threads,
                          calibration=calibration)
    if args.engine == "ray":
        from assistant.engines import import_ray
        import_ray(local=not args.address)  # before the module below imports it
        from assistant.batch.on_ray import classify_on_ray
        report = classify_on_ray(clf, files, folder, args.batch_size, args.address,
                                 progress=not args.no_progress, backend=args.backend,
                                 device=args.device, threads=args.threads,
                                 calibration=calibration)
    else:
        from assistant.batch.local import classify_files
        report = classify_files(clf, files, folder, args.batch_size, args.workers,
                                progress=not args.no_progress)
    if getattr(args, "text", False):
        add_text(report, folder, progress=not args.no_progress)
    skipped_file = write_csv(report, out) if out else None
    if args.json:
        json.dump(to_json(report, clf, folder), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    _summary(report, out, skipped_file)
    return 0 if report.results else 1  # nothing classified (no files, none readable): a failure


def _summary(report: Report, out: Path | None, skipped_file: Path | None) -> None:
    err = sys.stderr
    print(f"classified {len(report.results)} photos in {report.seconds:.1f} s "
          f"({report.photos_per_second:.1f} photos/s)" + (f" -> {out}" if out else ""), file=err)
    if report.skipped:
        where = f" (listed in {skipped_file})" if skipped_file else ""
        print(f"skipped {len(report.skipped)} files that could not be read{where}:", file=err)
        for path, why in report.skipped[:20]:
            print(f"  {path}: {why}", file=err)
        if len(report.skipped) > 20:
            print(f"  ... and {len(report.skipped) - 20} more", file=err)
