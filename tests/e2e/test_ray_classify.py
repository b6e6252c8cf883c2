"""`classify DIR --engine ray` against the local engine, in the same run: the same CSV and
the same skipped list, on synthetic photos and on real ones. On the session's Ray cluster
(conftest's ray_address), which the command finds connected."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.helpers import freiburg_photos

# slow: Ray's cluster and Serve's proxies start in a minute or more on the 2-core development CPU,
# and the files took about 3 minutes of one worker in the default run; CI's second step
# (`pytest -m slow`) runs them, and test_no_ray.py keeps Ray out of everything else by default
pytestmark = [pytest.mark.ray, pytest.mark.slow]


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def classify_both(folder: Path, out: Path, *flags: str) -> tuple[list, list, list, list]:
    from assistant.cli import main
    rows = []
    for engine in ("local", "ray"):
        csv_file = out / f"{engine}.csv"
        assert main(["classify", str(folder), "--out", str(csv_file), "--no-progress",
                     "--engine", engine, *flags]) == 0
        skipped = csv_file.with_name(f"{engine}.skipped.csv")
        rows += [read_csv(csv_file), read_csv(skipped) if skipped.exists() else []]
    return rows[0], rows[1], rows[2], rows[3]


def assert_same_rows(local: list[dict], on_ray: list[dict]) -> None:
    assert [(r["path"], r["label"]) for r in on_ray] == [(r["path"], r["label"]) for r in local]
    for a, b in zip(on_ray, local, strict=True):
        assert float(a["score"]) == pytest.approx(float(b["score"]), abs=2e-4)
        assert [t.split(":")[0] for t in a["top3"].split(";")] == \
            [t.split(":")[0] for t in b["top3"].split(";")]


def add_broken_files(folder: Path) -> set[str]:
    (folder / "empty.jpg").write_bytes(b"")
    whole = next(folder.rglob("*.jpg")).read_bytes()
    (folder / "half.jpg").write_bytes(whole[: len(whole) // 3])
    (folder / "notes.txt").write_text("milk, eggs, tea\n")
    return {"empty.jpg", "half.jpg", "notes.txt"}


def test_classify_on_ray_gives_the_local_csv_and_skipped_list(photo_dir, trained_checkpoint,
                                                              tmp_path, ray_address):
    broken = add_broken_files(photo_dir)
    local, local_skipped, on_ray, ray_skipped = classify_both(
        photo_dir, tmp_path, "--recursive", "--model", str(trained_checkpoint), "--batch-size", "5")
    assert len(local) == 24  # photo_dir's photos; the trained model names them all right
    assert all(r["label"] == r["path"].split("/")[0] for r in on_ray)
    assert_same_rows(local, on_ray)
    assert {r["path"] for r in ray_skipped} == broken
    assert ray_skipped == local_skipped  # the same reasons, in the same order


@pytest.mark.data
def test_classify_on_ray_names_real_photos_as_the_local_run_does(tmp_path, ray_address):
    folder = tmp_path / "shelf"
    folder.mkdir()
    for photo in freiburg_photos(per_class=2):
        (folder / photo.name).write_bytes(photo.read_bytes())
    add_broken_files(folder)
    local, local_skipped, on_ray, ray_skipped = classify_both(folder, tmp_path)
    assert len(local) == 50
    assert_same_rows(local, on_ray)
    assert ray_skipped == local_skipped and len(ray_skipped) == 3
