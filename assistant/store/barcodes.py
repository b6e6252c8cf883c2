"""The user's list of barcodes: code -> the names to say, and the product it belongs to.

Offline there is no product database, so the names come from the people around the user:
the maintainer teaches codes (`barcodes add`, "Scan barcode" in maintainer mode) or imports a
list (`code,en,es` CSV, or an Open Food Facts CSV/TSV export with its `code` and
`product_name` columns). Kept in an SQLite file in the user data folder (indexed on disk, so
opening and a lookup cost the same for ten codes or millions; every change is one
transaction); an import is streamed and all or nothing: every damaged line is reported with its
number and nothing stored is lost. A list of the earlier format (barcodes.json) is copied in
the first time and left as it was.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from assistant import paths
from assistant.catalog import localized
from assistant.errors import UserError
from assistant.files import fsync_dir, temp_path
from assistant.inference.barcodes import retail_code_ok
from assistant.store.barcode_import import ImportProblems, rows

log = logging.getLogger(__name__)

MAX_NAME = 200
QR_MARK = "qr:"   # a typed code that is a QR code's text, not a retail code's digits


class BarcodeError(UserError, ValueError):
    """A code or list that cannot be used; str() says why (and the line, for an import).

    lines: for an import, every damaged line shown as (line number, why)."""

    lines: list[tuple[int, str]] = []


@dataclass(frozen=True)
class Entry:
    code: str
    names: dict[str, str]
    product: str | None = None

    def name(self, language: str = "en") -> str:
        return localized(self.names, language)


def default_path() -> Path:
    return paths.data_dir() / "barcodes.sqlite3"


def store_paths(path: str | Path | None) -> tuple[Path, Path]:
    """(the SQLite file, the earlier format's JSON file beside it). A path ending in .json
    names the earlier list; the store then lives beside it."""
    path = Path(path) if path else default_path()
    if path.suffix == ".json":
        return path.with_suffix(".sqlite3"), path
    return path, path.with_suffix(".json")


def open_book(path: str | Path | None = None) -> tuple[BarcodeBook | None, str | None]:
    """(the list, None), or (None, why it cannot be read) for a damaged one, which is logged
    and left as it is: codes are then read but not named."""
    try:
        return BarcodeBook(path), None
    except BarcodeError as exc:
        log.warning("%s", exc)
        return None, str(exc)


def normalise(code: str) -> str:
    """A code as stored: digits of a retail code without spaces; a 12-digit UPC-A stays 12;
    a QR code's text as it is (typed with its "qr:" mark, stored without it)."""
    text = str(code).strip()
    if text[:len(QR_MARK)].lower() == QR_MARK:
        return text[len(QR_MARK):]
    digits = text.replace(" ", "").replace("-", "")
    if not digits.isdigit():
        return text
    return digits[1:] if len(digits) == 13 and digits.startswith("0") else digits  # = its UPC-A


def check(code: str, scanned: bool = False) -> str:
    """The normalised code, or BarcodeError: digits must be a retail code with a right check
    digit (EAN-13, UPC-A, EAN-8, UPC-E). Other text is a QR code's only when it was scanned or
    typed with its "qr:" mark: a typed code with a letter in it is a typo (O for 0), and stored
    it would never be named."""
    typed_qr = str(code).strip()[:len(QR_MARK)].lower() == QR_MARK
    code = normalise(code)
    if not code or len(code) > 500 or not code.isprintable():
        raise BarcodeError(f"{code!r} is not a barcode", message_id="err_barcode_bad", code=code)
    if scanned or typed_qr:
        return code
    if not code.isdigit():
        raise _not_digits(code)
    if not retail_code_ok(code):
        raise BarcodeError(f"{code}: the check digit is wrong (mistyped?), or it is not an "
                           "EAN-13, UPC-A, EAN-8 or UPC-E code",
                           message_id="err_barcode_check_digit", code=code)
    return code


#: letters typed for the digits they look like
LOOKALIKE_DIGITS = {"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "i": "1",
                    "Z": "2", "S": "5", "s": "5", "B": "8", "G": "6", "b": "6", "g": "9"}


def _not_digits(code: str) -> BarcodeError:
    compact = code.replace(" ", "").replace("-", "")
    letters = sorted({c for c in compact if not c.isdigit()})
    if letters and all(c in LOOKALIKE_DIGITS for c in letters):
        letter = letters[0]
        return BarcodeError(f"{code}: a barcode has only digits; is the {letter} a "
                            f"{LOOKALIKE_DIGITS[letter]}?", message_id="err_barcode_letter",
                            code=code, letter=letter, digit=LOOKALIKE_DIGITS[letter])
    return BarcodeError(f"{code}: a barcode has only digits (EAN, UPC); write a QR code's text "
                        f"as {QR_MARK}TEXT", message_id="err_barcode_not_digits", code=code,
                        mark=QR_MARK)


def _clean_name(name: str | None, code: str) -> str | None:
    if name is None:
        return None
    name = " ".join(str(name).split())
    if not name.isprintable():  # NUL, ESC, BEL: never stored, never printed raw
        raise BarcodeError(f"{code}: the name holds control characters",
                           message_id="err_barcode_name_control", code=code)
    if len(name) > MAX_NAME:
        raise BarcodeError(f"{code}: the name is longer than {MAX_NAME} characters",
                           message_id="err_barcode_name_long", code=code, n=MAX_NAME)
    return name or None


class BarcodeBook:
    """The codes this user has taught. One maintainer writes at a time; readers (the camera's
    thread, the HTTP service, another process) always see a whole transaction."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path, self.legacy = store_paths(path)
        self._lock = threading.Lock()
        try:
            if not self.path.exists() and self.legacy.is_file():
                self._migrate()
            self._db = _connect(self.path)
        except (OSError, sqlite3.Error, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self._unreadable(exc) from exc

    def _unreadable(self, exc: Exception) -> BarcodeError:
        where = self.legacy if not self.path.exists() else self.path
        return BarcodeError(f"{where}: the barcode list cannot be read ({exc}); it was left as it is",
                            message_id="err_barcode_list_unreadable", path=str(where))

    def _migrate(self) -> None:
        """Copy the earlier JSON list into a new store (made aside, then renamed into place)."""
        raw = json.loads(self.legacy.read_text(encoding="utf-8"))
        entries = [Entry(code, dict(e["names"]), e.get("product")) for code, e in raw["codes"].items()]
        tmp = temp_path(self.path)
        tmp.unlink(missing_ok=True)
        try:
            db = _connect(tmp)
            with _transaction(db):
                table = _Table(db)
                for entry in entries:
                    table[entry.code] = entry
            db.close()
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(self.path.parent)
        log.info("barcode list %s copied into %s (%d codes); the old file is kept",
                 self.legacy, self.path, len(entries))

    @contextmanager
    def _write(self) -> Iterator[_Table]:
        """One transaction: all of the block's changes, or none of them."""
        try:
            with self._lock, _transaction(self._db):
                yield _Table(self._db)
        except sqlite3.Error as exc:  # locked by another writer past the timeout, disk full
            raise BarcodeError(f"{self.path}: the barcode list cannot be changed now ({exc}); "
                               "nothing was changed", message_id="err_barcode_list_busy",
                               path=str(self.path), detail=str(exc)) from exc

    def _query(self, sql: str, *args) -> list[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise self._unreadable(exc) from exc

    def get(self, code: str) -> Entry | None:
        found = self._query("SELECT code, names, product FROM codes WHERE code = ?", normalise(code))
        return _entry(found[0]) if found else None

    def entries(self) -> Iterator[Entry]:
        """Every entry, by code, read a page at a time (a list of millions is never held)."""
        after = ""
        while True:
            page = self._query("SELECT code, names, product FROM codes WHERE code > ? "
                               "ORDER BY code LIMIT 1000", after)
            yield from (_entry(row) for row in page)
            if len(page) < 1000:
                return
            after = page[-1][0]

    def codes_of(self, product: str) -> list[str]:
        return [c for (c,) in self._query("SELECT code FROM codes WHERE product = ? ORDER BY code", product)]

    def __len__(self) -> int:
        return self._query("SELECT count(*) FROM codes")[0][0]

    # --- editing ----------------------------------------------------------------------
    def add(self, code: str, en: str | None = None, es: str | None = None,
            product: str | None = None, names: dict[str, str] | None = None,
            scanned: bool = False) -> Entry:
        """Teach a code (or give a taught one new names: they replace all its old ones, so no
        stale name of another language stays behind). A code already assigned to another
        product is refused: remove it first. scanned: read by the camera (a QR code's text is
        then taken as it is; a typed one needs its "qr:" mark)."""
        with self._write() as entries:
            return self._merge(entries, code, en, es, product, names, scanned)

    def _merge(self, entries: dict[str, Entry], code: str, en, es, product, names,
               scanned: bool = False) -> Entry:
        code = check(code, scanned)
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
        merged = names or (dict(old.names) if old else {})  # new names replace all old ones
        if not merged and product is None:
            raise BarcodeError(f"{code}: give a name to say (--en NAME)",
                               message_id="err_barcode_no_name", code=code)
        entry = Entry(code, merged, product or (old.product if old else None))
        entries[code] = entry
        return entry

    def remove(self, code: str) -> Entry:
        code = normalise(code)
        with self._write() as entries:
            entry = entries.get(code)
            if entry is None:
                raise BarcodeError(f"{code} is not in your list", message_id="err_barcode_unknown",
                                   code=code)
            entries.delete("code", code)
        return entry

    def remove_product(self, product: str) -> int:
        """Forget the codes of a removed product; returns how many."""
        with self._write() as entries:
            return entries.delete("product", product)

    def import_file(self, path: str | Path) -> tuple[int, int]:
        """Add every code of a list: `code,en,es` CSV (header optional), or an Open Food Facts
        export (CSV or TSV with `code` and `product_name` columns; rows without a name are
        skipped). Streamed line by line, in one transaction: all or nothing. Every damaged line
        (a bad code, a quote never closed, a code twice, control characters, a field too long)
        is collected; then BarcodeError names each (its .lines) and the list stays as it was.
        Returns (codes added or renamed, rows skipped)."""
        path = Path(path)
        problems, added, skipped = ImportProblems(), 0, 0
        try:
            with self._write() as entries:
                entries.start_import()
                for line, code, en, es in rows(path, problems):
                    if code is None:
                        skipped += 1  # an export's row without a code or a name
                        continue
                    try:
                        entry = self._merge(entries, code, en, es, None, None)
                        first = entries.first_seen(entry.code, line)
                        if first is not None:
                            raise BarcodeError(f"{entry.code} appears again (first on line {first})",
                                               message_id="err_barcode_twice", code=entry.code, first=first)
                        added += 1
                    except BarcodeError as exc:
                        problems.add(line, str(exc))
                if problems:
                    raise _import_error(path, problems)
        except OSError as exc:
            raise BarcodeError(f"{path}: {exc.strerror or exc}", message_id="err_no_file",
                               path=str(path)) from exc
        except UserError as exc:
            if isinstance(exc, BarcodeError):
                raise
            raise BarcodeError(str(exc), message_id=exc.message_id, **exc.fields) from exc
        return added, skipped


def _import_error(path: Path, problems: ImportProblems) -> BarcodeError:
    line, why = problems.lines[0]
    if problems.count == 1:
        exc = BarcodeError(f"{path}, line {line}: {why}; nothing was imported",
                           message_id="err_barcode_import_line", path=str(path), line=line, why=why)
    else:
        exc = BarcodeError(f"{path}: {problems.count} damaged lines, the first: line {line}: {why}; "
                           "nothing was imported", message_id="err_barcode_import_lines",
                           path=str(path), n=problems.count, line=line, why=why)
    exc.lines = problems.lines
    return exc


SCHEMA = """
CREATE TABLE IF NOT EXISTS codes (code TEXT PRIMARY KEY, names TEXT NOT NULL, product TEXT)
    WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS codes_by_product ON codes (product);
"""


def _connect(path: Path) -> sqlite3.Connection:
    """The store at path, made if absent. Autocommit: every change goes through _transaction.
    WAL: the app and the service read while `barcodes import` writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA temp_store=FILE")  # an import's seen-codes table stays on disk
    db.executescript(SCHEMA)
    return db


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _entry(row: tuple) -> Entry:
    return Entry(row[0], json.loads(row[1]), row[2])


class _Table:
    """The codes table seen as the mapping _merge works on (get, item assignment)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def get(self, code: str) -> Entry | None:
        row = self.db.execute("SELECT code, names, product FROM codes WHERE code = ?", (code,)).fetchone()
        return _entry(row) if row else None

    def __setitem__(self, code: str, entry: Entry) -> None:
        self.db.execute("INSERT OR REPLACE INTO codes VALUES (?, ?, ?)",
                        (code, json.dumps(entry.names, ensure_ascii=False), entry.product))

    def delete(self, column: str, value: str) -> int:
        return self.db.execute(f"DELETE FROM codes WHERE {column} = ?", (value,)).rowcount  # noqa: S608

    def start_import(self) -> None:
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS seen (code TEXT PRIMARY KEY, line INTEGER) WITHOUT ROWID")
        self.db.execute("DELETE FROM temp.seen")

    def first_seen(self, code: str, line: int) -> int | None:
        """None the first time an import meets code; else the line it was first on."""
        try:
            self.db.execute("INSERT INTO temp.seen VALUES (?, ?)", (code, line))
            return None
        except sqlite3.IntegrityError:
            return self.db.execute("SELECT line FROM temp.seen WHERE code = ?", (code,)).fetchone()[0]
