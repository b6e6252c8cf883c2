"""The maintainer's product library: names, photos from folders and the webcam, edits."""
from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest
from PIL import Image

from assistant.store.library import CaptureSession, Library, LibraryError, judge_frame, slug
from tests.helpers import make_photo


def photo(seed: int, color=(200, 120, 40), size: int = 160) -> np.ndarray:
    return make_photo(color, size=size, seed=seed)


@pytest.fixture
def lib(tmp_path) -> Library:
    return Library(tmp_path / "products")


def test_add_product_with_both_names_and_list_it(lib):
    p = lib.add("Olive oil", "Aceite de oliva")
    assert p.id == "olive_oil" and p.name("es") == "Aceite de oliva" and p.photos == 0
    assert [q.id for q in lib.products()] == ["olive_oil"]
    with pytest.raises(LibraryError, match="already"):
        lib.add("olive  oil", "otro")
    with pytest.raises(LibraryError, match="English and in Spanish"):
        lib.add("Vinegar", "  ")


def test_slug_is_ascii():
    assert slug("Café con leche!") == "cafe_con_leche"


def test_import_folder_skips_and_lists_broken_and_odd_photos(lib, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    for i in range(4):
        Image.fromarray(photo(i)).save(src / f"good{i}.jpg")
    Image.fromarray(photo(9)).save(src / "sub" / "nested.png")
    (src / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (src / "empty.jpg").write_bytes(b"")
    (src / "notes.txt").write_text("hello")
    Image.fromarray(photo(5, size=20)).save(src / "tiny.jpg")
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(src / "black.jpg")
    Image.fromarray(np.full((50, 400, 3), 128, np.uint8)).save(src / "strip.jpg")
    lib.add("Olive oil", "Aceite de oliva")
    report = lib.import_folder("olive_oil", src)
    assert len(report.added) == 5
    reasons = {p.rsplit("/", 1)[-1]: why for p, why in report.skipped}
    assert set(reasons) == {"broken.jpg", "empty.jpg", "notes.txt", "tiny.jpg", "black.jpg", "strip.jpg"}
    assert "too small" in reasons["tiny.jpg"] and "black" in reasons["black.jpg"]
    assert lib.counts() == {"olive_oil": 5}
    again = lib.import_folder("olive_oil", src)  # the same photos twice are kept once
    assert again.added == [] and again.duplicates == 5 and lib.counts()["olive_oil"] == 5
    for path in lib.photo_paths("olive_oil"):
        assert Image.open(path).format == "JPEG"


def test_import_from_a_missing_folder_says_so(lib, tmp_path):
    lib.add("Olive oil", "Aceite de oliva")
    with pytest.raises(LibraryError, match="no such folder"):
        lib.import_folder("olive_oil", tmp_path / "nope")


def test_frames_dark_blurred_or_unchanged_are_rejected_on_the_spot(lib):
    lib.add("Vinegar", "Vinagre")
    good = photo(1)
    dark = (good * 0.15).astype(np.uint8)
    blurred = cv2.GaussianBlur(good, (0, 0), 4)
    assert judge_frame(dark)[0] == "dark"
    assert judge_frame(blurred)[0] == "blurred"
    session = CaptureSession(lib, "vinegar", target=2)
    assert session.offer(good).ok
    assert session.offer(dark).reason == "dark"
    assert session.offer(blurred).reason == "blurred"
    assert session.offer(good.copy()).reason == "same"
    assert not session.done
    assert session.offer(photo(2, color=(30, 200, 90))).ok
    assert session.done and lib.counts()["vinegar"] == 2
    assert session.rejected == {"dark": 1, "blurred": 1, "same": 1}
    assert session.countdown_words() == ["3", "2", "1"]


def test_rename_merge_remove(lib, tmp_path):
    lib.add("Oil", "Aceite")
    lib.add("Olive oil", "Aceite de oliva")
    lib.add("Vinegar", "Vinagre")
    for i in range(3):
        lib.add_frame("oil", photo(10 + i, color=(200, 200, 40)))
        lib.add_frame("olive_oil", photo(20 + i, color=(100, 160, 40)))
    renamed = lib.rename("oil", english="Sunflower oil")
    assert renamed.names == {"en": "Sunflower oil", "es": "Aceite"} and renamed.id == "oil"
    merged = lib.merge(["olive_oil"], into="oil")
    assert merged.photos == 6 and "olive_oil" not in lib.counts()
    lib.remove("vinegar")
    assert list(lib.counts()) == ["oil"]
    with pytest.raises(LibraryError):
        lib.remove("vinegar")


@pytest.mark.fault("a product folder that is a symlink is removed: the link goes, the product does not "
                   "come back, the photos it pointed to stay")
def test_a_product_folder_that_is_a_symlink_can_be_removed(lib, tmp_path):
    elsewhere = tmp_path / "my-photos" / "jam"
    elsewhere.mkdir(parents=True)
    Image.fromarray(photo(1)).save(elsewhere / "01.jpg")
    (lib.root / "jam").symlink_to(elsewhere, target_is_directory=True)
    lib = Library(lib.root)
    assert lib.get("jam").photos == 1
    lib.remove("jam")
    assert not (lib.root / "jam").exists() and not (lib.root / "jam").is_symlink()
    assert "jam" not in Library(lib.root).counts()          # it does not come back
    assert (elsewhere / "01.jpg").is_file()                  # the user's own photos are untouched


def test_names_survive_a_restart_and_feed_retraining(lib):
    lib.add("Olive oil", "Aceite de oliva")
    again = Library(lib.root)
    assert again.get("olive_oil").names["es"] == "Aceite de oliva"
    with open(lib.folder / "classes.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [{"class": "olive_oil", "english": "Olive oil", "spanish": "Aceite de oliva"}]


def test_a_lost_index_is_rebuilt_from_the_folders(lib):
    lib.add("Olive oil", "Aceite de oliva")
    lib.add_frame("olive_oil", photo(3))
    (lib.root / "library.json").write_text("{damaged")
    again = Library(lib.root)
    assert again.counts() == {"olive_oil": 1}
