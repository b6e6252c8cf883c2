"""Model files checked for sense, not only format: a file whose answers are not numbers, whose
metadata asks for absurd sizes or is nested without end, or whose ONNX export is damaged, is
refused or mended with one clear line; and the user's data folder survives a move and hostile
product ids."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.inference.checkpoint import (
    META_KEY,
    CheckpointError,
    load_checkpoint,
    read_metadata,
    weights_digest,
)

ROOT = Path(__file__).resolve().parents[2]


def write_raw(path: Path, tensors: dict, meta: dict) -> Path:
    """A model file as a hostile or broken tool would write it: any metadata, the weights'
    checksum recomputed so that only sense can tell."""
    from safetensors.torch import save_file
    meta = dict(meta, weights_sha256=weights_digest(tensors))
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path),
              metadata={META_KEY: json.dumps(meta)})
    return path


def altered(tiny_checkpoint: Path, tmp_path: Path, name: str, meta_change=None, tensor_change=None):
    ckpt = load_checkpoint(tiny_checkpoint)
    tensors = {k: v.clone() for k, v in ckpt.state_dict.items()}
    meta = json.loads(json.dumps(ckpt.meta))
    if meta_change:
        meta_change(meta)
    if tensor_change:
        tensor_change(tensors)
    return write_raw(tmp_path / f"{name}.safetensors", tensors, meta)


def nan_bias(tensors):
    tensors["fc.bias"][0] = float("nan")


@pytest.mark.fault("a model with a NaN weight is refused at load, by both runtimes")
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_a_model_whose_answers_are_nan_is_refused_at_load(tiny_checkpoint, tmp_path, backend):
    from assistant.inference.onnx_backend import open_classifier
    bad = altered(tiny_checkpoint, tmp_path, "nan", tensor_change=nan_bias)
    with pytest.raises(CheckpointError, match="not numbers"):
        open_classifier(bad, backend)


@pytest.mark.fault("classify --json with a NaN model: exit 1, one line, no invalid JSON, before torch")
def test_classify_refuses_a_nan_model_in_one_line_instead_of_printing_invalid_json(
        tiny_checkpoint, tmp_path, photo_dir, isolated_home):
    """Refused from its weights, before anything is built from it: torch (an export, a network)
    is never imported (it was: 25 s of a child process to say one line)."""
    from tests.helpers import refusing_imports
    bad = altered(tiny_checkpoint, tmp_path, "nan", tensor_change=nan_bias)
    env, marker = refusing_imports(tmp_path, ("torch", "torchvision"), "torch must not be imported: ")
    run = subprocess.run([sys.executable, "main.py", "classify", str(photo_dir), "--recursive", "--json",
                          "--model", str(bad)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, env=dict(env, GROCERY_ASSISTANT_HOME=str(isolated_home)))
    assert run.returncode == 1 and run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1 and "not numbers" in run.stderr, run.stderr
    assert not marker.exists(), "torch was imported:\n" + marker.read_text()


@pytest.mark.fault("std 0, mean NaN, size 8000/100000, metrics a list or text, version a number, id '..' or with a newline: refused in one line")
@pytest.mark.parametrize("change, words", [
    (lambda m: m["preprocessing"].update(std=[0, 0, 0]), "normalisation is not sensible"),
    (lambda m: m["preprocessing"].update(mean=[float("nan")] * 3), "normalisation is not sensible"),
    (lambda m: m["preprocessing"].update(size=8000), "8000 px is not sensible"),
    (lambda m: m["preprocessing"].update(size=100000), "not sensible"),
    (lambda m: m.update(metrics=["top1", 0.9]), "metrics are damaged"),
    (lambda m: m.update(metrics="excellent"), "metrics are damaged"),
    (lambda m: m.update(version=7), "version is damaged"),
    (lambda m: m["classes"][0].update(id=".."), "not allowed"),
    (lambda m: m["classes"][0].update(id="milk\nfake"), "not allowed"),
], ids=["std 0", "mean NaN", "size 8000", "size 100000", "metrics a list", "metrics text",
        "version a number", "id ..", "id with a newline"])
def test_metadata_out_of_bounds_is_refused_in_one_line(tiny_checkpoint, tmp_path, change, words):
    bad = altered(tiny_checkpoint, tmp_path, "bad", meta_change=change)
    for read in (read_metadata, load_checkpoint):
        with pytest.raises(CheckpointError, match=words) as err:
            read(bad)
        assert "\n" not in str(err.value).replace("milk\\nfake", "")


@pytest.mark.fault("metadata nested 200,000 deep: refused in one line")
def test_metadata_nested_without_end_is_refused_in_one_line(tiny_checkpoint, tmp_path):
    from safetensors.torch import save_file
    ckpt = load_checkpoint(tiny_checkpoint)
    raw = json.dumps(ckpt.meta)[:-1] + ', "deep": ' + "[" * 200_000 + "]" * 200_000 + "}"
    path = tmp_path / "deep.safetensors"
    save_file({k: v.contiguous() for k, v in ckpt.state_dict.items()}, str(path), metadata={META_KEY: raw})
    with pytest.raises(CheckpointError, match="nested too deeply"):
        read_metadata(path)


@pytest.mark.fault("activating a model whose metrics are a list is refused; models list stays readable")
def test_activating_a_model_with_damaged_metrics_is_refused_and_the_list_stays_readable(
        tiny_checkpoint, tmp_path, isolated_home):
    from assistant.store import models
    bad = altered(tiny_checkpoint, tmp_path, "bad", meta_change=lambda m: m.update(metrics=[1, 2]))
    with pytest.raises(CheckpointError, match="metrics"):
        models.activate(bad)
    models.activate(tiny_checkpoint)
    # a damaged file slipped into the versions folder by hand is left out of the list, not fatal
    (models.versions_dir() / "00-hand-made.safetensors").write_bytes(bad.read_bytes())
    listed = models.list_versions()
    assert any(v.active for v in listed) and all(v.path.name != "00-hand-made.safetensors" for v in listed)


@pytest.mark.fault("a cached ONNX file that cannot be run is made again (no silent PyTorch fallback)")
def test_a_damaged_onnx_file_with_a_good_stamp_is_made_again(tiny_checkpoint, isolated_home):
    from assistant.inference.export import ensure_onnx
    from assistant.inference.onnx_backend import open_classifier
    from assistant.inference.onnx_files import file_sha256
    good = ensure_onnx(tiny_checkpoint)
    sha = file_sha256(tiny_checkpoint).encode()
    # a protobuf that starts like an ONNX file and carries the right stamp, but holds no graph
    entry = b"\x0a" + bytes([len(b"checkpoint_sha256")]) + b"checkpoint_sha256" + b"\x12" + bytes([len(sha)]) + sha
    good.write_bytes(b"\x08\x08" + b"\x72" + bytes([len(entry)]) + entry)
    clf = open_classifier(tiny_checkpoint, "onnx")
    assert clf.backend == "onnx" and clf.onnx_path.stat().st_size > 100_000
    assert clf.predict(__import__("numpy").zeros((64, 64, 3), "uint8")).label in clf.class_ids


@pytest.mark.fault("a data folder moved elsewhere keeps its active model")
def test_a_moved_data_folder_keeps_its_active_model(tiny_checkpoint, tmp_path, monkeypatch):
    import shutil

    from assistant import paths
    from assistant.store import models
    home = tmp_path / "home"
    monkeypatch.setenv(paths.HOME_ENV, str(home))
    stored = models.activate(tiny_checkpoint)
    assert models.active_model_path() == stored
    assert not Path(json.loads(models.active_pointer().read_text())["path"]).is_absolute()
    moved = tmp_path / "restored-elsewhere"
    shutil.move(str(home), str(moved))
    monkeypatch.setenv(paths.HOME_ENV, str(moved))
    assert models.active_model_path() == moved / stored.relative_to(home)
    assert not models.is_bundled_active()


@pytest.mark.fault("product ids '..', with a newline, or differing only in capitals: ignored, the data folder kept")
def test_hostile_product_ids_in_the_library_are_ignored_and_never_reach_the_disk(tmp_path):
    from assistant.store.library import Library, LibraryError
    root = tmp_path / "library"
    root.mkdir()
    (tmp_path / "precious.txt").write_text("the rest of the data folder")
    (root / "library.json").write_text(json.dumps({"products": {
        "..": {"en": "all", "es": "todo"}, "pear": {"en": "Anjou pear", "es": "pera"},
        "PEAR": {"en": "Anjou pear", "es": "pera"}, "tea\nfake": {"en": "tea", "es": "té"}}}))
    (root / "pear").mkdir()
    (root / "Anjou").mkdir()
    (root / "ANJOU").mkdir()
    lib = Library(root)
    ids = [p.id for p in lib.products()]
    anjou = [i for i in ids if i.lower() == "anjou"]
    assert len(ids) == 2 and "pear" in ids and len(anjou) == 1  # one of the two spellings
    other = "ANJOU" if anjou == ["Anjou"] else "Anjou"
    for pid in ("..", "PEAR", "tea\nfake", other):
        with pytest.raises(LibraryError):
            lib.remove(pid)
    assert (tmp_path / "precious.txt").is_file() and root.is_dir()
    with pytest.raises(LibraryError, match="control characters"):
        lib.add("Milk\nfake line", "Leche")
    with pytest.raises(LibraryError, match="already a product 'pear'"):
        lib.add("Pear", "Pera")


@pytest.mark.fault("training folders that cannot be product ids: refused by name")
def test_training_refuses_folder_names_that_cannot_be_product_ids(tmp_path, photo_dir):
    from assistant.errors import DataError
    from model.data import scan_folder
    (photo_dir / "bad name\nwith newline").mkdir()
    with pytest.raises(DataError, match="cannot be product ids"):
        scan_folder(photo_dir)
    (photo_dir / "bad name\nwith newline").rmdir()
    (photo_dir / "RED_SAUCE").mkdir()
    with pytest.raises(DataError, match="differ only in capitals"):
        scan_folder(photo_dir)


@pytest.mark.fault("models activate with NaN weights: refused in one line with the start-up's checks; "
                   "the model in use stays")
def test_activating_a_model_whose_answers_are_nan_is_refused_and_nothing_changes(
        tiny_checkpoint, tmp_path, isolated_home):
    from assistant.store import models
    models.activate(tiny_checkpoint)
    before = models.active_pointer().read_text()
    stored_before = sorted(models.versions_dir().iterdir())
    bad = altered(tiny_checkpoint, tmp_path, "nan", tensor_change=nan_bias)
    with pytest.raises(CheckpointError, match="not numbers"):
        models.activate(bad)
    assert models.active_pointer().read_text() == before
    assert sorted(models.versions_dir().iterdir()) == stored_before
    run = subprocess.run([sys.executable, "main.py", "models", "activate", str(bad)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, GROCERY_ASSISTANT_HOME=str(isolated_home)))
    assert run.returncode == 1 and len(run.stderr.strip().splitlines()) == 1
    assert "not numbers" in run.stderr
    assert models.active_pointer().read_text() == before


@pytest.mark.fault("active.json of the earlier format (absolute paths), data folder moved: the "
                   "taught model stays active and the pointer is rewritten")
def test_an_earlier_pointer_with_absolute_paths_is_migrated_after_a_move(tiny_checkpoint, tmp_path,
                                                                        monkeypatch):
    import shutil

    from assistant import paths
    from assistant.store import models
    home = tmp_path / "home"
    monkeypatch.setenv(paths.HOME_ENV, str(home))
    first = models.activate(tiny_checkpoint)
    second = models.activate(altered(tiny_checkpoint, tmp_path, "second",
                                     meta_change=lambda m: m.update(version="second")))
    # the earlier format: every entry an absolute path into the data folder
    models.active_pointer().write_text(json.dumps(
        {"path": str(second), "history": [str(first), "bundled"]}))
    moved = tmp_path / "restored-elsewhere"
    shutil.move(str(home), str(moved))
    monkeypatch.setenv(paths.HOME_ENV, str(moved))
    assert models.active_model_path() == moved / second.relative_to(home)
    assert not models.is_bundled_active()
    saved = json.loads(models.active_pointer().read_text())
    assert saved["path"] == second.relative_to(home / "data" / "models").as_posix()
    assert saved["history"] == [first.relative_to(home / "data" / "models").as_posix(), "bundled"]
    assert models.rollback() == moved / first.relative_to(home)
