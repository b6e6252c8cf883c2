"""`python main.py barcodes [list | add CODE --en NAME [--es NAME] | remove CODE | import FILE]`:
the user's list of barcodes, which the assistant says by name when it sees one."""
from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", default="list", choices=["list", "add", "remove", "import"],
                   help="list the codes; add CODE with its names; remove CODE; import FILE (CSV "
                        "code,en,es, or an Open Food Facts CSV/TSV export)")
    p.add_argument("target", nargs="?", metavar="CODE|FILE",
                   help="with add and remove: the code (digits of an EAN/UPC, or qr:TEXT for a "
                        "QR code's text); with import: the file")
    p.add_argument("--en", metavar="NAME", help="with add: the name said in English (new "
                   "names replace all the old ones of a taught code)")
    p.add_argument("--es", metavar="NAME", help="with add: the name said in Spanish")
    p.add_argument("--product", metavar="ID",
                   help="with add: the product (of the model or the library) the code belongs to")


def run(args: argparse.Namespace) -> int:
    from assistant.catalog import LANGUAGES
    from assistant.store.barcodes import BarcodeBook, BarcodeError
    book = BarcodeBook()
    if args.action == "list":
        for e in book.entries():
            names = " / ".join(e.names.get(lang, "-") for lang in LANGUAGES)
            print(f"{e.code}\t{names}" + (f"\t{e.product}" if e.product else ""))
        print(f"({len(book)} codes in {book.path})")
        return 0
    if not args.target:
        print(f"barcodes {args.action}: say which {'file' if args.action == 'import' else 'code'}",
              file=sys.stderr)
        return 2
    if args.action == "add":
        if not (args.en or args.es or args.product):
            print("barcodes add: give the name to say (--en NAME, and --es NAME)", file=sys.stderr)
            return 2
        entry = book.add(args.target, args.en, args.es, args.product)
        print(f"{entry.code}: {entry.name('en')}" + (f" / {entry.names['es']}" if "es" in entry.names else ""))
    elif args.action == "remove":
        entry = book.remove(args.target)
        print(f"removed {entry.code} ({entry.name('en')})")
    else:
        try:
            added, skipped = book.import_file(args.target)
        except BarcodeError as exc:
            if not exc.lines:
                raise
            for line, why in exc.lines:  # every damaged line, each with its file and number
                print(f"{args.target}, line {line}: {why}", file=sys.stderr)
            more = len(exc.lines) < exc.fields.get("n", 1)
            print(f"barcodes import: {exc.fields.get('n', 1)} damaged lines"
                  + (f" ({len(exc.lines)} shown)" if more else "") + "; nothing was imported",
                  file=sys.stderr)
            return 1
        print(f"imported {added} codes from {args.target}"
              + (f" ({skipped} rows without a name skipped)" if skipped else "")
              + f"; {len(book)} in your list")
    return 0
