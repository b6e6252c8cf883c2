"""The user's list of barcodes: code -> the names to say, and the product it belongs to.

Offline there is no product database, so the names come from the people around the user:
the maintainer teaches codes (`barcodes add`, "Scan barcode" in maintainer mode) or imports a
list (`code,en,es` CSV, or an Open Food Facts CSV/TSV export with its `code` and
`product_name` columns). Kept as one JSON file in the user data folder, written atomically;
an import is all or nothing: a damaged line is reported by number and nothing stored is lost.
"""
from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from assistant import paths
from assistant.errors import UserError
from assistant.files import atomic_write_text
from assistant.inference.barcodes import retail_code_ok

log = logging.getLogger(__name__)

MAX_NAME = 200


class BarcodeError(UserError, ValueError):
    """A code or list that cannot be used; str() says why (and the line, for an import)."""


@dataclass(frozen=True)
class Entry:
    code: str
    names: dict[str, str]
    product: str | None = None

    def name(self, language: str = "en") -> str:
        return self.names.get(language) or self.names.get("en") or next(iter(self.names.values()), "")


def default_path() -> Path:
    return paths.data_dir() / "barcodes.json"


def open_book(path: str | Path | None = None) -> tuple[BarcodeBook | None, str | None]:
    """(the list, None), or (None, why it cannot be read) for a damaged one, which is logged
    and left as it is: codes are then read but not named."""
    try:
        return BarcodeBook(path), None
    except BarcodeError as exc:
        log.warning("%s", exc)
        return None, str(exc)


def normalise(code: str) -> str:
    """A code as stored: digits of a retail code without spaces; a 12-digit UPC-A stays 12."""
    text = str(code).strip()
    digits = text.replace(" ", "").replace("-", "")
    if not digits.isdigit():
        return text
    return digits[1:] if len(digits) == 13 and digits.startswith("0") else digits  # = its UPC-A


def check(code: str) -> str:
    """The normalised code, or BarcodeError: digits must be a retail code with a right check
    digit (EAN-13, UPC-A, EAN-8, UPC-E); anything else is taken as a QR code's text."""
    code = normalise(code)
    if not code or len(code) > 500 or not code.isprintable():
        raise BarcodeError(f"{code!r} is not a barcode", message_id="err_barcode_bad", code=code)
    if code.isdigit() and not retail_code_ok(code):
        raise BarcodeError(f"{code}: the check digit is wrong (mistyped?), or it is not an "
                           "EAN-13, UPC-A, EAN-8 or UPC-E code",
                           message_id="err_barcode_check_digit", code=code)
    return code


def _clean_name(name: str | None, code: str) -> str | None:
    if name is None:
        return None
    name = " ".join(str(name).split())
    if len(name) > MAX_NAME:
        raise BarcodeError(f"{code}: the name is longer than {MAX_NAME} characters",
                           message_id="err_barcode_name_long", code=code, n=MAX_NAME)
    return name or None


class BarcodeBook:
    """The codes this user has taught. Not thread-safe for writers (one maintainer at a time);
    readers get a consistent snapshot (lookups read one dict)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_path()
        self._entries: dict[str, Entry] = self._read()

    # --- reading ----------------------------------------------------------------------
    def _read(self) -> dict[str, Entry]:
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {code: Entry(code, dict(e["names"]), e.get("product"))
                    for code, e in raw["codes"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BarcodeError(f"{self.path}: the barcode list cannot be read ({exc}); it was "
                               "left as it is", message_id="err_barcode_list_unreadable",
                               path=str(self.path)) from exc

    def get(self, code: str) -> Entry | None:
        return self._entries.get(normalise(code))

    def entries(self) -> list[Entry]:
        return [self._entries[c] for c in sorted(self._entries)]

    def codes_of(self, product: str) -> list[str]:
        return sorted(c for c, e in self._entries.items() if e.product == product)

    def __len__(self) -> int:
        return len(self._entries)

    # --- editing ----------------------------------------------------------------------
    def add(self, code: str, en: str | None = None, es: str | None = None,
            product: str | None = None, names: dict[str, str] | None = None) -> Entry:
        """Teach a code (or give a taught one new names). A code already assigned to another
        product is refused: remove it first."""
        entries = dict(self._entries)
        entry = self._merge(entries, code, en, es, product, names)
        self._entries = entries
        self._save()
        return entry

    def _merge(self, entries: dict[str, Entry], code: str, en, es, product, names) -> Entry:
        code = check(code)
        names = dict(names or {})
        for lang, value in (("en", en), ("es", es)):
            value = _clean_name(value, code)
            if value:
                names[lang] = value
        old = entries.get(code)
        if old is not None and old.product and product and old.product != product:
            raise BarcodeError(f"{code} already belongs to {old.product}; remove it first "
                               f"(barcodes remove {code})", message_id="err_barcode_taken",
                               code=code, product=old.product)
        merged = {**(old.names if old else {}), **names}
        if not merged and product is None:
            raise BarcodeError(f"{code}: give a name to say (--en NAME)",
                               message_id="err_barcode_no_name", code=code)
        entry = Entry(code, merged, product or (old.product if old else None))
        entries[code] = entry
        return entry

    def remove(self, code: str) -> Entry:
        code = normalise(code)
        if code not in self._entries:
            raise BarcodeError(f"{code} is not in your list", message_id="err_barcode_unknown",
                               code=code)
        entries = dict(self._entries)
        entry = entries.pop(code)
        self._entries = entries
        self._save()
        return entry

    def remove_product(self, product: str) -> int:
        """Forget the codes of a removed product; returns how many."""
        codes = self.codes_of(product)
        if codes:
            self._entries = {c: e for c, e in self._entries.items() if e.product != product}
            self._save()
        return len(codes)

    def import_file(self, path: str | Path) -> tuple[int, int]:
        """Add every code of a list: `code,en,es` CSV (header optional), or an Open Food Facts
        export (CSV or TSV with `code` and `product_name` columns; rows without a name are
        skipped). All or nothing: the first damaged line raises BarcodeError with its number
        and the list stays as it was. Returns (codes added or renamed, rows skipped)."""
        path = Path(path)
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise BarcodeError(f"{path}: {exc.strerror or exc}", message_id="err_no_file",
                               path=str(path)) from exc
        except UnicodeDecodeError as exc:
            raise BarcodeError(f"{path}: not a text file (UTF-8)", message_id="err_barcode_not_text",
                               path=str(path)) from exc
        rows, off = _rows(text)
        entries = dict(self._entries)
        added = skipped = 0
        for line, row in rows:
            try:
                if off:
                    code, en = row.get("code", ""), row.get("product_name", "")
                    es = row.get("product_name_es") or None
                    if not code.strip() or not (en or "").strip():
                        skipped += 1
                        continue
                else:
                    if len(row) < 2 or len(row) > 3:
                        raise BarcodeError(f"expected code,en,es, found {len(row)} fields",
                                           message_id="err_barcode_fields", n=len(row))
                    code, en, es = (row + [""])[:3]
                self._merge(entries, code, en, es or None, None, None)
                added += 1
            except BarcodeError as exc:
                raise BarcodeError(f"{path}, line {line}: {exc}; nothing was imported",
                                   message_id="err_barcode_import_line", path=str(path),
                                   line=line, why=str(exc)) from exc
        self._entries = entries
        self._save()
        return added, skipped

    def _save(self) -> None:
        data = {"version": 1, "codes": {
            c: {"names": e.names, **({"product": e.product} if e.product else {})}
            for c, e in sorted(self._entries.items())}}
        atomic_write_text(self.path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def _rows(text: str) -> tuple[list[tuple[int, object]], bool]:
    """(line number, row) pairs and whether it is an Open Food Facts export (dict rows)."""
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        table = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise BarcodeError(f"line {reader.line_num}: {exc}", message_id="err_barcode_import_line",
                           path="", line=reader.line_num, why=str(exc)) from exc
    table = [(n, row) for n, row in table if any(cell.strip() for cell in row)]
    if not table:
        return [], False
    header = [cell.strip().lower() for cell in table[0][1]]
    if "code" in header and "product_name" in header:
        return [(n, dict(zip(header, row, strict=False))) for n, row in table[1:]], True
    if header[:2] == ["code", "en"]:
        table = table[1:]
    return [(n, [cell.strip() for cell in row]) for n, row in table], False
