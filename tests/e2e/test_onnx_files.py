"""The runtime's ONNX files: found by the checkpoint's SHA-256, checked against the SHA stamped
inside, and rebuilt when damaged or made from another model (a corrupt cached file used to
make `auto` fall back to PyTorch on every start, and `--backend onnx` fail)."""
from __future__ import annotations

import shutil

from assistant.inference.export import ensure_onnx
from assistant.inference.onnx_backend import open_classifier
from assistant.inference.onnx_files import file_sha256, stamped_sha


def test_the_stamp_is_read_without_the_onnx_package(tiny_checkpoint):
    path = ensure_onnx(tiny_checkpoint)
    assert path.name == f"{file_sha256(tiny_checkpoint)}.onnx"
    import onnx
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert stamped_sha(path) == props["checkpoint_sha256"] == file_sha256(tiny_checkpoint)


def test_a_damaged_or_foreign_onnx_file_is_rebuilt(tiny_checkpoint, tmp_path):
    from assistant.inference.architectures import build_model
    from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
    good = ensure_onnx(tiny_checkpoint)
    good.write_bytes(b"\x08\x07" + b"\xff" * 200)          # damaged: disk error, killed copy
    clf = open_classifier(tiny_checkpoint, "onnx")
    assert clf.backend == "onnx" and stamped_sha(clf.onnx_path) == file_sha256(tiny_checkpoint)
    # another model's export under this model's name: rebuilt, never served
    other = tmp_path / "other.safetensors"
    meta = {k: v for k, v in load_checkpoint(tiny_checkpoint).meta.items() if k != "weights_sha256"}
    save_checkpoint(other, build_model("resnet18", 3).state_dict(), meta)
    shutil.copy(ensure_onnx(other), good)
    assert stamped_sha(good) == file_sha256(other)
    again = open_classifier(tiny_checkpoint, "onnx")
    assert stamped_sha(again.onnx_path) == file_sha256(tiny_checkpoint)


def test_setting_up_a_model_puts_its_onnx_file_beside_it_even_when_the_cache_has_one(tiny_checkpoint):
    """Training leaves the file in the user cache; `model.export --ready` (setup.sh, for the
    bundled models) must still lay it beside the checkpoint, or a fresh home (another account,
    CI's tests) finds none and, without torch, cannot classify."""
    from assistant.inference.export import make_ready
    from assistant.inference.onnx_files import cache_folder
    cached = ensure_onnx(tiny_checkpoint)
    assert cached.parent == cache_folder()
    beside = make_ready(tiny_checkpoint)
    assert beside.parent == tiny_checkpoint.parent / "onnx" and beside.is_file()
    assert stamped_sha(beside) == file_sha256(tiny_checkpoint)
