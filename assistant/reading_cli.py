"""`python main.py read PHOTO|DIR... [--language en|es] [--json]`: read the text and the dates
on packs in photos, as the window's read key would say them."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from assistant.catalog.languages import DEFAULT_LANGUAGE, LANGUAGES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PHOTO|DIR",
                   help="photos, or folders of photos (their sub-folders too)")
    p.add_argument("--language", choices=LANGUAGES, default=DEFAULT_LANGUAGE,
                   help="the language of what is said (dates, messages)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per photo (photo, lines, dates, product), one per line")
    p.add_argument("--model", metavar="FILE",
                   help="the model whose products' label words name the product read (default: "
                        "the active one; a model without label words names none)")
    p.add_argument("--today", metavar="YYYY-MM-DD", type=dt.date.fromisoformat,
                   help="the day against which a date is said to have passed (default: today)")


def photos_of(paths: list[str]) -> tuple[list[Path], list[str]]:
    """The photos named or inside the folders named, and one line per path that is neither."""
    from assistant.files import is_photo, photos_in
    photos, problems = [], []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found = photos_in(path)
            photos += found
            if not found:
                problems.append(f"{path}: no photos in this folder")
        elif path.is_file() and is_photo(path):
            photos.append(path)
        elif path.is_file():
            problems.append(f"{path}: not a photo (its name does not end like one)")
        else:
            problems.append(f"{path}: no such file or folder")
    return photos, problems


def run(args: argparse.Namespace) -> int:
    from assistant.inference.vision import ImageError
    from assistant.reading import OcrUnavailable, open_reader

    photos, problems = photos_of(args.paths)
    for line in problems:
        print(f"read: {line}", file=sys.stderr)
    if not photos:
        return 1
    reader, why = open_reader(meta=_model_meta(args.model))
    if reader is None:
        print(f"read: no text engine: {why}", file=sys.stderr)
        return 1
    done = 0
    for photo in photos:
        try:
            reading = reader.read_photo(photo)
        except ImageError as exc:  # one line, and the other photos are still read
            print(f"read: skipped {exc}", file=sys.stderr)
            continue
        except OcrUnavailable as exc:
            print(f"read: the text engine cannot be loaded: {exc}", file=sys.stderr)
            return 1
        done += 1
        if args.json:
            print(json.dumps(reading.to_dict(str(photo), args.language), ensure_ascii=False))
        else:
            print(f"{photo}:")
            for sentence in reading.sentences(args.language, args.today):
                print(f"  {sentence}")
    return 0 if done else 1


def _model_meta(path: str | None) -> dict | None:
    """The metadata of the model (its header only); None when it cannot be read, unless it
    was named on the command line (then its CheckpointError says why, in one line)."""
    from assistant.inference.checkpoint import CheckpointError, read_metadata
    from assistant.store.models import active_model_path
    if path:
        return read_metadata(path)
    try:
        return read_metadata(active_model_path())
    except (CheckpointError, OSError):
        return None
