"""Reading a list of barcodes to import, one line at a time (memory stays flat for a file of
gigabytes): `code,en,es` CSV (header optional) or an Open Food Facts CSV/TSV export.

A name never holds a line break, so every record is one line: a quote left open is reported
on its own line instead of swallowing the lines after it. Each damaged line becomes a
(line number, why) problem; the caller decides (an import is all or nothing).
"""
from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from assistant.errors import UserError

#: a line longer than this is refused unread (an export's line is a few kilobytes)
MAX_LINE = 1 << 20
#: how many bad lines an error keeps to show (all are counted)
MAX_SHOWN = 100


class ImportProblems:
    """The damaged lines of one import: the first MAX_SHOWN kept, all counted."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []
        self.count = 0

    def add(self, line: int, why: str) -> None:
        self.count += 1
        if len(self.lines) < MAX_SHOWN:
            self.lines.append((line, printable(why)))

    def __bool__(self) -> bool:
        return self.count > 0


def printable(text: str) -> str:
    """text with control characters written as escapes: a NUL or ESC read from a file must not
    reach a terminal raw (an ESC sequence can repaint it)."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def rows(path: Path, problems: ImportProblems) -> Iterator[tuple[int, str | None, str | None, str | None]]:
    """(line, code, English name, Spanish name or None) of each line that parses; damaged
    lines go to problems. An Open Food Facts row without a code or a name comes as (line, None,
    None, None): skipped. OSError or a UserError when the file cannot be read as text at all."""
    with open(path, "rb") as fh:
        header, off, parse = None, False, None
        for n, raw in _lines(fh, problems):
            try:
                text = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError:
                if n == 1:
                    raise UserError(f"{path}: not a text file (UTF-8)",
                                    message_id="err_barcode_not_text", path=str(path)) from None
                problems.add(n, "not UTF-8 text")
                continue
            if not text.strip():
                continue
            first = parse is None
            if first:  # the first line with words: the format, and maybe a header
                parse = _parser("\t" if text.count("\t") > text.count(",") else ",")
            cells = _cells(parse, text, n, problems)
            if cells is None:
                continue
            if first:
                names = [c.strip().lower() for c in cells]
                if "code" in names and "product_name" in names:
                    header, off = names, True
                    continue
                if names[:2] == ["code", "en"]:
                    continue
            if off:
                row = dict(zip(header, cells, strict=False))
                code, en = row.get("code", ""), row.get("product_name", "")
                if not code.strip() or not en.strip():
                    yield n, None, None, None
                else:
                    yield n, code, en, row.get("product_name_es") or None
            elif not 2 <= len(cells) <= 3:
                problems.add(n, f"expected code,en,es, found {len(cells)} fields")
            else:
                code, en, es = ([c.strip() for c in cells] + [""])[:3]
                yield n, code, en, es or None


def _parser(delimiter: str):
    if delimiter == "\t":
        # Open Food Facts' TSV quotes nothing: a '"' in a name is a letter, not a quote
        return lambda text: csv.reader([text], delimiter="\t", quoting=csv.QUOTE_NONE)
    return lambda text: csv.reader([text], delimiter=",", strict=True)


def _cells(parse, text: str, n: int, problems: ImportProblems) -> list[str] | None:
    try:
        return next(parse(text), [])
    except csv.Error as exc:
        why = str(exc)
        if "unexpected end of data" in why:
            why = "a quote is opened and never closed (a name cannot run into the next line)"
        elif "field larger" in why:
            why = f"a field is too long (over {csv.field_size_limit()} characters)"
        problems.add(n, why)
        return None


def _lines(fh, problems: ImportProblems) -> Iterator[tuple[int, bytes]]:
    """(number, line without its end) of a binary file; a line over MAX_LINE is reported and
    skipped without being held whole."""
    n = 0
    while True:
        raw = fh.readline(MAX_LINE)
        if not raw:
            return
        n += 1
        if len(raw) == MAX_LINE and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = fh.readline(MAX_LINE)
            problems.add(n, f"the line is too long (over {MAX_LINE // 1024} KB)")
            continue
        yield n, raw.rstrip(b"\r\n")
