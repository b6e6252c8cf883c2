"""Model files: round trip, damage and tampering refused clearly, atomic writes, no pickle."""
from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import assistant.inference.checkpoint as ckpt_mod
from assistant.inference.checkpoint import (
    FORMAT_VERSION,
    META_KEY,
    CheckpointError,
    load_checkpoint,
    make_classes,
    read_metadata,
    save_checkpoint,
)
from assistant.inference.vision import Preprocessing

IDS = ["blue_milk", "green_tea", "red_sauce"]


def small_state(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"body.weight": torch.randn(8, 4, generator=g), "body.bias": torch.randn(8, generator=g),
            "head.weight": torch.randn(3, 8, generator=g), "bn.num_batches_tracked": torch.tensor(7)}


def small_meta(**changes) -> dict:
    meta = {"architecture": "resnet18",
            "classes": make_classes(IDS, {"red_sauce": {"en": "tomato sauce", "es": "salsa de tomate"}}),
            "preprocessing": Preprocessing(size=64).to_dict(),
            "metrics": {"test": {"top1": 0.75, "top3": 1.0, "n": 12}},
            "training": {"command": "python main.py train --data x --out y", "seconds": 1.5}}
    meta.update(changes)
    return meta


def rewrite_meta(path: Path, change) -> None:
    """Re-save a valid file with its metadata altered by change(meta) (weights kept)."""
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()[META_KEY])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    change(meta)
    save_file(tensors, str(path), metadata={META_KEY: json.dumps(meta)})


@pytest.fixture
def saved(tmp_path) -> Path:
    return save_checkpoint(tmp_path / "model.safetensors", small_state(), small_meta())


# --- round trip --------------------------------------------------------------------------------

def test_round_trip_keeps_weights_and_metadata(tmp_path):
    state = small_state()
    path = save_checkpoint(tmp_path / "m.safetensors", state, small_meta(), half=False)
    ck = load_checkpoint(path)
    assert set(ck.state_dict) == set(state)
    for key, value in state.items():
        assert torch.equal(ck.state_dict[key], value), key
    assert ck.architecture == "resnet18"
    assert ck.class_ids == IDS
    assert ck.name(2, "en") == "tomato sauce" and ck.name(2, "es") == "salsa de tomate"
    assert ck.name(0, "es") == "blue milk"          # no name given: the id, spoken
    assert ck.preprocessing == Preprocessing(size=64)
    assert ck.meta["metrics"]["test"]["top1"] == 0.75
    assert ck.meta["training"]["command"].startswith("python main.py train")
    assert ck.meta["format_version"] == FORMAT_VERSION and ck.meta["num_classes"] == 3
    assert ck.meta["created"]                        # the date it was made
    assert ck.path == path


def test_half_precision_by_default(saved):
    ck = load_checkpoint(saved)
    state = small_state()
    assert ck.state_dict["body.weight"].dtype == torch.float16
    assert torch.allclose(ck.state_dict["body.weight"].float(), state["body.weight"], atol=1e-2)
    assert torch.equal(ck.state_dict["bn.num_batches_tracked"], torch.tensor(7))  # ints untouched


def test_read_metadata_alone(saved):
    meta = read_metadata(saved)
    assert [c["id"] for c in meta["classes"]] == IDS


def test_saving_does_not_change_the_callers_metadata(tmp_path):
    meta = small_meta()
    before = json.dumps(meta, sort_keys=True)
    save_checkpoint(tmp_path / "m.safetensors", small_state(), meta)
    assert json.dumps(meta, sort_keys=True) == before


# --- damaged, truncated, tampered --------------------------------------------------------------

def test_tampered_weights_are_refused(saved):
    data = bytearray(saved.read_bytes())
    data[-3] ^= 0x40                                  # a bit in the last tensor's bytes
    saved.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum") as err:
        load_checkpoint(saved)
    assert str(saved) in str(err.value)


def test_weights_swapped_for_others_are_refused(saved):
    """Someone re-saves other weights under the old metadata (and its checksum)."""
    with safe_open(str(saved), framework="pt") as f:
        meta = f.metadata()[META_KEY]
    other = {k: v.half() if v.is_floating_point() else v for k, v in small_state(seed=1).items()}
    save_file(other, str(saved), metadata={META_KEY: meta})
    with pytest.raises(CheckpointError, match="checksum"):
        load_checkpoint(saved)


@pytest.mark.parametrize("keep", [0.5, 0.95, 0.0])
def test_truncated_file_is_refused(saved, keep):
    data = saved.read_bytes()
    saved.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="damaged or truncated|not a valid model") as err:
        load_checkpoint(saved)
    assert str(saved) in str(err.value)
    with pytest.raises(CheckpointError):
        read_metadata(saved)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no such model file"):
        load_checkpoint(tmp_path / "absent.safetensors")


def test_a_safetensors_file_without_our_metadata_is_refused(tmp_path):
    path = tmp_path / "foreign.safetensors"
    save_file(small_state(), str(path))
    with pytest.raises(CheckpointError, match="not a grocery-assistant model"):
        load_checkpoint(path)


def test_damaged_metadata_json_is_refused(saved):
    with safe_open(str(saved), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    save_file(tensors, str(saved), metadata={META_KEY: '{"format": "grocery-assistant-ch'})
    with pytest.raises(CheckpointError, match="metadata is damaged"):
        load_checkpoint(saved)


def _drop(key):
    return lambda meta: meta.pop(key)


def _set(key, value):
    return lambda meta: meta.__setitem__(key, value)


def _dup_ids(meta):
    meta["classes"][1]["id"] = meta["classes"][0]["id"]


def _no_spanish(meta):
    del meta["classes"][0]["names"]["es"]


@pytest.mark.parametrize("change, message", [
    (_drop("format"), "not a grocery-assistant model file"),
    (_set("format", "someone-elses-checkpoint"), "not a grocery-assistant model file"),
    (_set("format_version", FORMAT_VERSION + 1), "newer version"),
    (_set("format_version", "1"), "format"),
    (_drop("architecture"), "unknown architecture"),
    (_set("architecture", "vgg19"), "unknown architecture 'vgg19'"),
    (_drop("classes"), "at least two products"),
    (lambda m: m.__setitem__("classes", m["classes"][:1]), "at least two products"),
    (_dup_ids, "two products share one id"),
    (_no_spanish, "spoken names"),
    (_set("num_classes", 5), "number of products"),
    (_drop("preprocessing"), "preprocessing"),
    (_set("preprocessing", {"size": 224, "mean": [0.5], "std": [0.5]}), "preprocessing"),
    (_drop("weights_sha256"), "checksum"),
])
def test_bad_metadata_is_refused_with_a_reason(saved, change, message):
    rewrite_meta(saved, change)
    for reader in (load_checkpoint, read_metadata):
        with pytest.raises(CheckpointError, match=message) as err:
            reader(saved)
        assert str(saved) in str(err.value)


def test_bad_metadata_is_refused_before_writing(tmp_path):
    meta = small_meta()
    meta["classes"][1]["id"] = meta["classes"][0]["id"]
    with pytest.raises(CheckpointError, match="share one id"):
        save_checkpoint(tmp_path / "m.safetensors", small_state(), meta)
    assert list(tmp_path.iterdir()) == []


def test_checkpoint_errors_read_as_one_line(saved):
    from assistant.errors import user_message
    saved.write_bytes(saved.read_bytes()[:100])
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(saved)
    message = user_message(err.value)
    assert message and "\n" not in message and str(saved) in message


# --- atomic write ------------------------------------------------------------------------------

def test_no_temp_files_are_left(tmp_path):
    for i in range(3):
        save_checkpoint(tmp_path / "m.safetensors", small_state(i), small_meta())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]
    assert torch.allclose(load_checkpoint(tmp_path / "m.safetensors").state_dict["body.bias"].float(),
                          small_state(2)["body.bias"], atol=1e-2)


def test_saving_into_a_new_folder(tmp_path):
    path = save_checkpoint(tmp_path / "a" / "b" / "m.safetensors", small_state(), small_meta())
    assert load_checkpoint(path).class_ids == IDS


def _half_written(tensors, filename, metadata=None):
    """save_file that dies halfway through: the disk fills up, the power goes."""
    Path(filename).write_bytes(b"\x00" * 1000)
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("where", ["while writing", "while replacing"])
def test_a_failed_save_leaves_the_old_file_untouched(saved, monkeypatch, where):
    before = saved.read_bytes()
    if where == "while writing":
        monkeypatch.setattr(ckpt_mod, "save_file", _half_written)
    else:
        def failing_replace(src, dst):
            raise OSError(5, "Input/output error")
        monkeypatch.setattr(ckpt_mod.os, "replace", failing_replace)
    with pytest.raises(OSError):
        save_checkpoint(saved, small_state(seed=3), small_meta())
    monkeypatch.undo()
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == [saved.name], "a temp file was left behind"
    assert load_checkpoint(saved).class_ids == IDS


def test_a_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(ckpt_mod, "save_file", _half_written)
    with pytest.raises(OSError):
        save_checkpoint(tmp_path / "m.safetensors", small_state(), small_meta())
    assert list(tmp_path.iterdir()) == []


# --- never unpickles ---------------------------------------------------------------------------

class _Payload:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickle_renamed_safetensors_is_refused_and_never_run(tmp_path, monkeypatch):
    marker = tmp_path / "code-ran"
    evil = tmp_path / "model.safetensors"
    torch.save({"state_dict": small_state(), "x": _Payload(marker)}, evil)  # a .pth, renamed
    assert not marker.exists()

    def no_unpickling(*args, **kwargs):
        raise AssertionError("a model file must never be unpickled")
    monkeypatch.setattr(torch, "load", no_unpickling)
    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    for reader in (load_checkpoint, read_metadata):
        with pytest.raises(CheckpointError, match="not a valid model file") as err:
            reader(evil)
        assert str(evil) in str(err.value)
    assert not marker.exists()


def test_the_pickle_payload_really_would_run(tmp_path):
    """Guards the test above: its file is a working exploit, so refusing it means something."""
    marker = tmp_path / "code-ran"
    evil = tmp_path / "model.pth"
    torch.save({"x": _Payload(marker)}, evil)
    torch.load(evil, weights_only=False)
    assert marker.exists()
    os.remove(marker)
