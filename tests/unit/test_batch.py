"""`classify DIR`: a folder with good, odd and broken files gives a correct CSV and a list of
what was skipped and why; --json parses; batching never changes an answer."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assistant.cli import main
from tests.helpers import make_photo

BROKEN = {"empty.jpg": "empty file", "half.jpg": "damaged", "notes.txt": "not a picture"}


@pytest.fixture
def messy_dir(photo_dir: Path) -> Path:
    """photo_dir's 24 JPEGs in sub-folders, plus at the top: 2 good JPEGs, a 16-bit PNG, a CMYK
    JPEG (odd but readable) and a zero-byte, a truncated and a not-an-image file."""
    top = photo_dir
    Image.fromarray(make_photo((200, 30, 30), seed=7)).save(top / "shelf_a.jpg", quality=90)
    Image.fromarray(make_photo((40, 60, 200), size=150, seed=8)).save(top / "shelf_b.jpeg", quality=90)
    deep = (np.arange(96 * 96, dtype=np.uint16).reshape(96, 96) * 7).astype(np.uint16)
    Image.fromarray(deep).save(top / "scan16.png")
    assert Image.open(top / "scan16.png").mode.startswith("I;16")
    Image.fromarray(make_photo((30, 170, 60), seed=9)).convert("CMYK").save(top / "print_cmyk.jpg")
    (top / "empty.jpg").write_bytes(b"")
    whole = (top / "shelf_a.jpg").read_bytes()
    (top / "half.jpg").write_bytes(whole[: len(whole) // 2])
    (top / "notes.txt").write_text("milk, eggs, tea\n")
    (top / ".hidden.jpg").write_bytes(b"editor swap file")  # hidden files are not photos
    return top


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def local_answers(model: Path, folder: Path, rels: list[str]) -> dict[str, list[tuple[str, float]]]:
    from assistant.inference.classifier import Classifier
    from assistant.inference.vision import load_image
    clf = Classifier(model, device="cpu")
    return {rel: clf.predict(load_image(folder / rel), k=3).top for rel in rels}


def test_classify_writes_correct_csv_and_lists_skipped(messy_dir, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "results.csv"
    code = main(["classify", str(messy_dir), "--out", str(out), "--model", str(tiny_checkpoint),
                 "--batch-size", "2", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 0, err
    rows = read_rows(out)
    assert list(rows[0]) == ["path", "label", "score", "top3"]
    readable = ["print_cmyk.jpg", "scan16.png", "shelf_a.jpg", "shelf_b.jpeg"]
    assert [r["path"] for r in rows] == readable  # sorted; sub-folders only with --recursive
    expected = local_answers(tiny_checkpoint, messy_dir, readable)
    for row in rows:
        top = expected[row["path"]]
        assert row["label"] == top[0][0]
        assert float(row["score"]) == pytest.approx(top[0][1], abs=1e-3)
        parsed = [item.split(":") for item in row["top3"].split(";")]
        assert [label for label, _ in parsed] == [label for label, _ in top]
        assert [float(s) for _, s in parsed] == pytest.approx([s for _, s in top], abs=1e-3)
    skipped = read_rows(tmp_path / "results.skipped.csv")
    assert {r["path"] for r in skipped} == set(BROKEN)
    for r in skipped:
        assert BROKEN[r["path"]] in r["reason"]
        assert f"{r['path']}: " in err  # also told on the terminal
    assert "classified 4 photos" in err and "skipped 3 files" in err


def test_recursive_json_lists_everything_and_parses(messy_dir, tiny_checkpoint, capsys):
    code = main(["classify", str(messy_dir), "--recursive", "--json", "--model", str(tiny_checkpoint),
                 "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads(captured.out)
    paths = [r["path"] for r in data["results"]]
    assert len(paths) == 4 + 24 and "green_tea/03.jpg" in paths
    assert {s["path"] for s in data["skipped"]} == set(BROKEN)
    assert all(s["reason"] for s in data["skipped"])
    first = data["results"][0]
    assert first["label"] == first["top"][0]["label"] and len(first["top"]) == 3
    assert set(first["names"]) == {"en", "es"}
    for r in data["results"]:
        spoken = {"en": "tomato sauce", "es": "salsa de tomate"} if r["label"] == "red_sauce" else \
            {"en": r["label"].replace("_", " "), "es": r["label"].replace("_", " ")}
        assert r["names"] == spoken
    assert data["classified"] == 28 and data["skipped_count"] == 3
    assert not Path("results.csv").exists()  # --json alone writes no CSV


def test_batch_size_and_workers_do_not_change_answers(photo_dir, tiny_checkpoint, tmp_path, capsys):
    outs = []
    for batch, workers in ((1, 1), (5, 3), (64, 2)):
        out = tmp_path / f"b{batch}.csv"
        assert main(["classify", str(photo_dir), "-r", "--out", str(out), "--model", str(tiny_checkpoint),
                     "--batch-size", str(batch), "--workers", str(workers), "--no-progress"]) == 0
        outs.append(read_rows(out))
    assert len(outs[0]) == 24
    for other in outs[1:]:
        assert [(r["path"], r["label"]) for r in other] == [(r["path"], r["label"]) for r in outs[0]]
        for a, b in zip(other, outs[0], strict=True):
            assert float(a["score"]) == pytest.approx(float(b["score"]), abs=2e-4)
    capsys.readouterr()


def test_output_inside_the_folder_is_not_read_back(photo_dir, tiny_checkpoint, capsys):
    folder = photo_dir / "green_tea"
    shutil.copy(folder / "00.jpg", folder / "extra.jpg")
    out = folder / "results.csv"
    for _ in range(2):  # the second run finds the first run's CSV in the folder
        assert main(["classify", str(folder), "--out", str(out), "--model", str(tiny_checkpoint),
                     "--no-progress"]) == 0
    assert len(read_rows(out)) == 9
    assert not (folder / "results.skipped.csv").exists()
    assert "skipped" not in capsys.readouterr().err


def test_missing_folder_and_unreadable_folder_fail_clearly(tmp_path, tiny_checkpoint, capsys):
    out = tmp_path / "r.csv"
    assert main(["classify", str(tmp_path / "nowhere"), "--out", str(out),
                 "--model", str(tiny_checkpoint)]) == 1
    assert "nowhere: no such folder" in capsys.readouterr().err
    assert not out.exists()
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.jpg").write_bytes(b"not really")
    assert main(["classify", str(junk), "--out", str(out), "--model", str(tiny_checkpoint),
                 "--no-progress"]) == 1  # nothing could be classified
    assert read_rows(out) == []
    assert read_rows(tmp_path / "r.skipped.csv")[0]["path"] == "a.jpg"
    assert main(["classify", str(junk), "--out", str(out), "--batch-size", "0",
                 "--model", str(tiny_checkpoint)]) == 1
    assert "--batch-size" in capsys.readouterr().err


def test_progress_bar_with_eta_goes_to_stderr(photo_dir, tiny_checkpoint, tmp_path, capsys):
    assert main(["classify", str(photo_dir), "-r", "--out", str(tmp_path / "r.csv"),
                 "--model", str(tiny_checkpoint), "--batch-size", "8"]) == 0
    captured = capsys.readouterr()
    assert "24/24" in captured.err and "photo/s" in captured.err and "<" in captured.err  # ETA
    assert captured.out == ""


def test_an_empty_folder_is_a_failure_said_in_one_line(tmp_path, tiny_checkpoint, capsys):
    """The README promises exit 1 when nothing could be classified: no files is nothing."""
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "c.csv"
    assert main(["classify", str(empty), "--out", str(out), "--model", str(tiny_checkpoint),
                 "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "no files in" in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists(), "an empty results file was written for an empty folder"
