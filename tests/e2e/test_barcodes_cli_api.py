"""Barcodes as a user meets them outside the window: `barcodes add/list/remove/import` on the
command line (bad input is one clear line, exit 1), the HTTP answer's "barcodes", and a
headless run that says a taught code by name (a real photo with a code pasted into it)."""
from __future__ import annotations

import io
import subprocess
from pathlib import Path

import httpx
import pytest
from PIL import Image

from assistant.bench.barcode_pictures import code_image, paste
from tests.helpers import run_cli, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
DEMO = sorted((ROOT / "assets" / "demo").glob("*.jpg"))
pytestmark = pytest.mark.timeout(300)


def cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    return run_cli(*args, timeout=240,
                   env_extra={"GROCERY_ASSISTANT_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"})


def photo_with(code: str, path: Path) -> Path:
    from assistant.inference.vision import load_image
    picture = paste(load_image(DEMO[1]), code_image(code), width=0.6, tilt=5, at=(0.5, 0.7))
    Image.fromarray(picture).save(path, quality=90)
    return path


def test_the_barcodes_command(tmp_path, isolated_home):
    add = cli("barcodes", "add", "7310865004703", "--en", "Garant organic milk", "--es",
              "Leche Garant", home=isolated_home)
    assert add.returncode == 0, add.stderr
    wrong = cli("barcodes", "add", "7310865004704", "--en", "Milk", home=isolated_home)
    assert wrong.returncode == 1 and len(wrong.stderr.splitlines()) == 1
    assert "check digit" in wrong.stderr and "Traceback" not in wrong.stderr
    listing = tmp_path / "list.csv"
    listing.write_text("code,en,es\n96385074,Tea,Té\n", encoding="utf-8")
    assert cli("barcodes", "import", str(listing), home=isolated_home).returncode == 0
    damaged = tmp_path / "damaged.csv"
    damaged.write_text("036000291452,Tissues\n12345,Bad\n", encoding="utf-8")
    bad = cli("barcodes", "import", str(damaged), home=isolated_home)
    assert bad.returncode == 1 and "line 2" in bad.stderr and "nothing was imported" in bad.stderr
    listed = cli("barcodes", "list", home=isolated_home).stdout
    assert "7310865004703\tGarant organic milk / Leche Garant" in listed
    assert "96385074\tTea / Té" in listed and "036000291452" not in listed
    assert cli("barcodes", "remove", "96385074", home=isolated_home).returncode == 0
    assert "96385074" not in cli("barcodes", "list", home=isolated_home).stdout


def test_the_http_answer_carries_the_codes(tmp_path, tiny_checkpoint):
    from assistant.service.app import create_app
    from assistant.store.barcodes import BarcodeBook
    book_file = tmp_path / "barcodes.json"
    BarcodeBook(book_file).add("7310865004703", "Garant organic milk", "Leche Garant")
    app = create_app(str(tiny_checkpoint), backend="torch", barcode_list=str(book_file))
    taught = photo_with("7310865004703", tmp_path / "taught.jpg").read_bytes()
    unknown = photo_with("5000112546415", tmp_path / "unknown.jpg").read_bytes()
    plain = io.BytesIO()
    Image.open(DEMO[1]).save(plain, "JPEG")
    with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        answer = client.post("/api/predict", files={"file": ("p.jpg", taught, "image/jpeg")}).json()
        assert answer["barcodes"] == [{"code": "7310865004703", "format": "EAN-13",
                                       "name": "Garant organic milk",
                                       "names": {"en": "Garant organic milk", "es": "Leche Garant"}}]
        assert answer["class"] in answer["top"][0]["class"]
        other = client.post("/api/predict", files={"file": ("u.jpg", unknown, "image/jpeg")}).json()
        assert other["barcodes"] == [{"code": "5000112546415", "format": "EAN-13", "name": None,
                                      "names": None}]
        none = client.post("/api/predict", files={"file": ("n.jpg", plain.getvalue(), "image/jpeg")})
        assert none.json()["barcodes"] == []
        # taught while the service runs: the next answer names it
        BarcodeBook(book_file).add("5000112546415", "Coca-Cola Zero")
        again = client.post("/api/predict", files={"file": ("u.jpg", unknown, "image/jpeg")}).json()
        assert again["barcodes"][0]["name"] == "Coca-Cola Zero"


def test_a_taught_code_is_said_by_name_in_a_headless_run(tmp_path, isolated_home):
    folder = tmp_path / "shelf"
    folder.mkdir()
    photo_with("7310865004703", folder / "01_code.jpg")
    photo_with("5000112546415", folder / "02_other.jpg")
    assert cli("barcodes", "add", "7310865004703", "--en", "Garant organic milk", "--es",
               "Leche Garant", home=isolated_home).returncode == 0
    transcript = tmp_path / "said.tsv"
    run = cli("app", "--source", str(folder), "--hold", "1.5", "--once", "--transcript",
              str(transcript), "--engine", "silent", home=isolated_home)
    assert run.returncode == 0, run.stderr
    rows = [line.split("\t") for line in transcript.read_text(encoding="utf-8").splitlines()]
    codes = [(item, ident, words) for _, item, ident, words in rows if ident.startswith("barcode")]
    assert codes == [("01_code.jpg", "barcode", "Garant organic milk"),
                     ("02_other.jpg", "barcode_unknown",
                      "Barcode 5 0 0 0 1 1 2 5 4 6 4 1 5, not in your list.")]
