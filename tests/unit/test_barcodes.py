"""Barcodes: codes drawn by python-barcode (and QR codes by zxing-cpp's writer) pasted into
photos are read back; check digits; the user's list (teach, remove, import, damaged files);
the watch that says a code once while it stays in view; the guidance ticks."""
from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.bench.barcode_pictures import code_image, paste, shelf_photo
from assistant.inference.barcodes import (
    Code,
    barcode_likeness,
    read_codes,
    retail_code_ok,
    upce_to_upca,
)
from assistant.store.barcodes import BarcodeBook, BarcodeError

CODES = [("EAN-13", "7310865004703"), ("EAN-8", "96385074"), ("UPC-A", "036000291452"),
         ("QR", "https://example.org/p/42")]


@pytest.mark.parametrize(("fmt", "text"), CODES)
@pytest.mark.parametrize(("width", "tilt", "blur"), [(0.6, 0, 0), (0.6, 10, 0), (0.7, 0, 1.0)])
def test_a_code_in_a_photo_is_read(fmt, text, width, tilt, blur):
    picture = paste(shelf_photo(seed=3), code_image(text, fmt), width=width, tilt=tilt, blur=blur)
    codes = read_codes(picture)
    assert [(c.text, c.format) for c in codes] == [(text, fmt)]
    assert 0.3 < codes[0].width < 1.0


def test_no_code_and_bad_pictures_give_nothing():
    assert read_codes(shelf_photo()) == []
    assert read_codes(np.zeros((0, 0, 3), np.uint8)) == []
    # a code far too small to read is not guessed at
    assert read_codes(paste(shelf_photo(), code_image("7310865004703"), width=0.08)) == []


def test_check_digits():
    assert retail_code_ok("7310865004703") and not retail_code_ok("7310865004704")
    assert retail_code_ok("036000291452") and not retail_code_ok("036000291453")
    assert retail_code_ok("96385074") and not retail_code_ok("96385075")
    assert upce_to_upca("01234565") == "012345000065" and retail_code_ok("01234565")
    assert not retail_code_ok("12345") and not retail_code_ok("73108650047a3")


def test_barcode_likeness_grows_with_the_code():
    photo = shelf_photo(seed=5)
    small = barcode_likeness(paste(photo, code_image("7310865004703"), width=0.3))
    large = barcode_likeness(paste(photo, code_image("7310865004703"), width=0.8))
    assert barcode_likeness(photo)[0] < 0.05
    assert large[0] > small[0] > 0.05


# --- the user's list -------------------------------------------------------------------------
def test_teach_list_remove_and_keep(tmp_path):
    path = tmp_path / "barcodes.json"
    book = BarcodeBook(path)
    book.add("7310865004703", "Garant organic milk", "Leche ecológica Garant")
    book.add("96385074", "Tea", product="tea")
    again = BarcodeBook(path)  # written to disk
    assert [e.code for e in again.entries()] == ["7310865004703", "96385074"]
    assert again.get("7310865004703").name("es") == "Leche ecológica Garant"
    assert again.get("96385074").name("es") == "Tea"  # no Spanish name: the English one
    assert again.codes_of("tea") == ["96385074"]
    again.remove("96385074")
    assert BarcodeBook(path).get("96385074") is None
    with pytest.raises(BarcodeError, match="not in your list"):
        again.remove("96385074")


def test_bad_codes_are_refused_and_nothing_changes(tmp_path):
    book = BarcodeBook(tmp_path / "b.json")
    book.add("96385074", "Tea", product="tea")
    before = list(book.entries())
    with pytest.raises(BarcodeError, match="check digit") as wrong:
        book.add("7310865004704", "Milk")
    assert wrong.value.message_id == "err_barcode_check_digit"
    with pytest.raises(BarcodeError, match="already belongs to tea"):
        book.add("96385074", "Coffee", product="coffee")
    with pytest.raises(BarcodeError, match="give a name"):
        book.add("7310865004703")
    assert list(BarcodeBook(tmp_path / "b.json").entries()) == before


def test_a_typed_code_with_letters_is_refused_and_a_qr_text_needs_its_mark(tmp_path, capsys):
    """Trial item 3: '73108650O4703' (letter O) and 'not-a-code' were stored and never named."""
    book = BarcodeBook(tmp_path / "b.json")
    with pytest.raises(BarcodeError, match="only digits; is the O a 0") as typo:
        book.add("73108650O4703", "Milk", "Leche")
    assert typo.value.message_id == "err_barcode_letter"
    with pytest.raises(BarcodeError, match="qr:TEXT") as text:
        book.add("not-a-code", "Broken", "Roto")
    assert text.value.message_id == "err_barcode_not_digits"
    listed = tmp_path / "list.csv"
    listed.write_text("96385074,Tea,Té\nnot-a-code,Broken,Roto\n", encoding="utf-8")
    with pytest.raises(BarcodeError, match="line 2: .*only digits.*nothing was imported"):
        book.import_file(listed)
    assert list(book.entries()) == []
    # a QR code's text: typed with its mark, or read by the camera as it is
    assert book.add("qr:https://example.org/p/42", "Tea").code == "https://example.org/p/42"
    assert book.get("https://example.org/p/42").name() == "Tea"
    assert book.add("SHOP-42", "Rice", scanned=True).code == "SHOP-42"
    from assistant.cli import main
    assert main(["barcodes", "add", "73108650O4703", "--en", "Milk"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is the O a 0" in err[0]


def test_new_names_replace_all_the_old_ones(tmp_path):
    """Trial item 3: a rename with --en only kept the stale Spanish name of the old product."""
    book = BarcodeBook(tmp_path / "b.json")
    book.add("7310865004703", "Milk A", "Leche A")
    renamed = book.add("7310865004703", "Milk B")
    assert renamed.names == {"en": "Milk B"} and renamed.name("es") == "Milk B"
    assert BarcodeBook(tmp_path / "b.json").get("7310865004703").name("es") == "Milk B"
    book.add("7310865004703", "Milk C", "Leche C")
    tied = book.add("7310865004703", product="milk")   # a product, no names: the names stay
    assert tied.names == {"en": "Milk C", "es": "Leche C"} and tied.product == "milk"


def test_import_a_list_and_an_open_food_facts_export(tmp_path):
    book = BarcodeBook(tmp_path / "b.json")
    plain = tmp_path / "list.csv"
    plain.write_text("code,en,es\n96385074,Tea,Té\n036000291452,Tissues,Pañuelos\n", encoding="utf-8")
    assert book.import_file(plain) == (2, 0)
    off = tmp_path / "off.tsv"
    off.write_text("code\turl\tproduct_name\tbrands\n5000112546415\thttp://x\tCoca-Cola Zero\tCoca\n"
                   "3017620422003\thttp://y\t\tFerrero\n", encoding="utf-8")
    assert book.import_file(off) == (1, 1)  # the row without a name is skipped
    assert book.get("5000112546415").name("en") == "Coca-Cola Zero"
    assert book.get("036000291452").name("es") == "Pañuelos"


@pytest.mark.parametrize(("content", "line"), [
    ("96385074,Tea\n12345,Bad\n", 2),                 # a wrong code
    ("code,en,es\n96385074,Tea,Té,extra\n", 2),        # too many fields
    ("96385074,Tea\n\n036000291452\n", 3),             # too few
])
def test_a_damaged_import_names_the_line_and_loses_nothing(tmp_path, content, line):
    book = BarcodeBook(tmp_path / "b.json")
    book.add("7310865004703", "Milk")
    bad = tmp_path / "bad.csv"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(BarcodeError, match=f"line {line}: .*nothing was imported"):
        book.import_file(bad)
    assert [e.code for e in book.entries()] == ["7310865004703"]
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)))
    with pytest.raises(BarcodeError, match="not a text file"):
        book.import_file(binary)


def test_a_damaged_list_file_is_reported_and_left_alone(tmp_path):
    path = tmp_path / "b.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(BarcodeError, match="cannot be read"):
        BarcodeBook(path)
    assert path.read_text(encoding="utf-8") == "{not json"
    path.write_text(json.dumps({"version": 1, "codes": {"96385074": {"names": {"en": "Tea"}}}}))
    assert BarcodeBook(path).get("96385074").name() == "Tea"
    store = tmp_path / "b.sqlite3"
    store.write_bytes(b"not a database, " * 100)   # the store itself damaged: said, left alone
    with pytest.raises(BarcodeError, match="cannot be read"):
        BarcodeBook(store)
    assert store.read_bytes() == b"not a database, " * 100


BAD_LINES = ("code,en,es\n"
             '4000000000020,"unterminated,x\n'                 # 2: a quote that never ends
             "4000000000037,a,b\n"                             # 3: fine (not swallowed by 2)
             "96385074,Tea,Té\n"                               # 4: fine
             "96385074,Tea again,Té\n"                         # 5: the same code again
             "036000291452,Bell\x07 \x1b[31mred\x00,x\n"       # 6: control characters
             "7310865004703," + "x" * 200_000 + ",y\n"          # 7: a 200 KB field
             "5000112546415,Cola,Cola\n")                      # 8: fine


@pytest.mark.fault("barcodes import: unterminated quote, duplicate code, control characters, "
                   "200 KB field: each reported with file and line, nothing imported")
def test_every_bad_line_of_an_import_is_reported_with_file_and_line_and_nothing_is_imported(tmp_path):
    book = BarcodeBook(tmp_path / "b.json")
    book.add("7310865004703", "Milk")
    bad = tmp_path / "shop.csv"
    bad.write_text(BAD_LINES, encoding="utf-8")
    with pytest.raises(BarcodeError) as err:
        book.import_file(bad)
    assert [n for n, _ in err.value.lines] == [2, 5, 6, 7]
    whys = dict(err.value.lines)
    assert "quote" in whys[2] and "line 4" in whys[5] and "control" in whys[6] and "long" in whys[7]
    assert str(bad) in str(err.value) and "nothing was imported" in str(err.value)
    assert [(e.code, e.names) for e in BarcodeBook(tmp_path / "b.json").entries()] == [
        ("7310865004703", {"en": "Milk"})]


def test_the_command_line_prints_every_bad_line(tmp_path, capsys):
    from assistant.cli import main
    bad = tmp_path / "shop.csv"
    bad.write_text(BAD_LINES, encoding="utf-8")
    assert main(["barcodes", "import", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert [line.split(": ", 1)[0] for line in err[:4]] == [f"{bad}, line {n}" for n in (2, 5, 6, 7)]
    assert "nothing was imported" in err[-1] and len(err) == 5
    assert "\x00" not in "".join(err) and "\x1b" not in "".join(err)   # printed, never raw
    assert main(["barcodes", "list"]) == 0 and "(0 codes" in capsys.readouterr().out


@pytest.mark.fault("a barcode list of the earlier format (barcodes.json) is moved into the store, "
                   "the file kept")
def test_the_earlier_json_list_is_migrated_and_kept(isolated_home):
    from assistant import paths
    from assistant.store.barcodes import default_path
    legacy = paths.data_dir() / "barcodes.json"
    text = json.dumps({"version": 1, "codes": {
        "96385074": {"names": {"en": "Tea", "es": "Té"}, "product": "tea"},
        "7310865004703": {"names": {"en": "Milk"}}}})
    legacy.write_text(text, encoding="utf-8")
    book = BarcodeBook()
    assert book.path == default_path() and book.path.suffix == ".sqlite3"
    assert book.get("96385074").names == {"en": "Tea", "es": "Té"} and book.codes_of("tea") == ["96385074"]
    book.add("036000291452", "Tissues")
    again = BarcodeBook()
    assert [e.code for e in again.entries()] == ["036000291452", "7310865004703", "96385074"]
    assert legacy.read_text(encoding="utf-8") == text   # the user's file stays as it was


MEASURE = """
import resource, sys, time
from pathlib import Path
def rss(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from assistant.store.barcodes import BarcodeBook
base = rss()
if sys.argv[1] == "import":
    BarcodeBook(Path(sys.argv[2])).import_file(sys.argv[3])
else:
    book = BarcodeBook(Path(sys.argv[2]))
    assert book.get(sys.argv[3]).name() == "Product " + sys.argv[3]
print(rss() - base)
"""


def ean13(n: int) -> str:
    digits = "200" + f"{n:09d}"
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


@pytest.mark.fault("barcodes import of 100,000 codes: memory stays flat; opening the list and a "
                   "lookup do not read it all")
def test_a_large_import_and_a_lookup_keep_memory_flat(tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    big = tmp_path / "big.csv"
    with big.open("w", encoding="utf-8") as fh:
        for n in range(100_000):
            fh.write(f"{ean13(n)},Product {ean13(n)},Producto {n}\n")
    store = tmp_path / "barcodes.sqlite3"

    def grown(*args) -> float:
        run = subprocess.run([sys.executable, "-c", MEASURE, *args], cwd=root, capture_output=True,
                             text=True, timeout=600, env={**__import__("os").environ, "PYTHONPATH": str(root)})
        assert run.returncode == 0, run.stderr
        return float(run.stdout)

    # the file is 4 MB; the list kept whole in memory (the JSON store) grew by ~200 MB
    assert grown("import", str(store), str(big)) < 40
    assert grown("lookup", str(store), ean13(99_999)) < 10
    assert len(BarcodeBook(store)) == 100_000


# --- the watch and the ticks ----------------------------------------------------------------
def test_a_code_is_reported_once_while_it_stays_in_view():
    from assistant.live.barcode_watch import BarcodeWatch
    seen, guided = [], []
    watch = BarcodeWatch(lambda: (None, 0), seen.append, guided.append, forget_after=1.0)
    with_code = paste(shelf_photo(), code_image("7310865004703"), width=0.6)
    for t in (0.0, 0.2, 0.4, 0.9):
        watch.step(with_code, now=t)
    assert [c.text for c in seen] == ["7310865004703"]
    watch.step(shelf_photo(), now=1.2)
    watch.step(with_code, now=2.5)          # out of view for more than a second: said again
    assert len(seen) == 2
    watch.forget()                          # a new photo of a folder: a new appearance
    watch.step(with_code, now=2.6)
    assert len(seen) == 3 and guided == []


def test_guidance_comes_for_an_unreadable_code_only():
    from assistant.live.barcode_watch import BarcodeWatch
    guided = []
    watch = BarcodeWatch(lambda: (None, 0), lambda code: None, guided.append)
    watch.step(shelf_photo())
    assert guided == []
    blurred = paste(shelf_photo(), code_image("7310865004703"), width=0.7, blur=4.0)
    assert watch.step(blurred) == []
    assert len(guided) == 1 and 0 < guided[0] <= 1


def test_ticks_speed_up_with_the_level_and_can_be_turned_off():
    from assistant.live.ticks import Ticker
    played = []
    ticker = Ticker(play=lambda: played.append(1))
    assert ticker.interval(1.0) < ticker.interval(0.0)
    ticks_at = [t / 100 for t in range(0, 200)]  # two seconds, every 10 ms
    slow = sum(ticker.guide(0.0, now=t) for t in ticks_at)
    fast_ticker = Ticker(play=lambda: played.append(1))
    fast = sum(fast_ticker.guide(1.0, now=t) for t in ticks_at)
    assert fast > 3 * slow > 0
    off = Ticker(enabled=False, play=lambda: played.append(1))
    assert not off.guide(1.0) and off.ticks == 0


def test_words_for_codes():
    from assistant.live.barcode_watch import words_for_code
    from assistant.store.barcodes import Entry
    entry = Entry("7310865004703", {"en": "Garant organic milk", "es": "Leche Garant"})
    code = Code("7310865004703", "EAN-13")
    assert words_for_code(code, entry, "es") == ("barcode", "Leche Garant")
    ident, words = words_for_code(code, None, "en")
    assert ident == "barcode_unknown"
    assert words == "Barcode 7 3 1 0 8 6 5 0 0 4 7 0 3, not in your list."


def test_a_code_held_at_30_degrees_is_read_by_turning_the_picture():
    from assistant.inference.barcodes import read_in_view
    picture = paste(shelf_photo(seed=3), code_image("7310865004703"), width=0.6, tilt=30)
    assert read_codes(picture) == []  # zxing-cpp's own search turns only by quarter turns
    codes, likeness = read_in_view(picture)
    assert [c.text for c in codes] == ["7310865004703"] and likeness is None
    assert read_in_view(picture, turned=False)[0] == []
