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


def test_the_graph_optimised_at_the_first_start_serves_the_next_with_the_same_answers(
        tiny_checkpoint):
    """Launch time: the optimised graph is kept in the cache for this CPU kind and loaded
    without optimising again; it answers exactly as the file it came from. A damaged copy is
    made again, not served."""
    import numpy as np

    from assistant.inference.onnx_backend import optimized_path
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    first = open_classifier(tiny_checkpoint, "onnx")
    copy = optimized_path(first.onnx_path)
    assert copy.is_file() and copy.parent.name == "onnx"
    made = copy.stat().st_mtime_ns
    second = open_classifier(tiny_checkpoint, "onnx")
    assert copy.stat().st_mtime_ns == made                 # loaded, not written again
    np.testing.assert_allclose(second.logits(x), first.logits(x), rtol=1e-5, atol=1e-5)
    copy.write_bytes(b"\x08\x07" + b"\xff" * 200)
    third = open_classifier(tiny_checkpoint, "onnx")
    np.testing.assert_allclose(third.logits(x), first.logits(x), rtol=1e-5, atol=1e-5)
    assert copy.stat().st_size > 100_000


def test_a_model_that_fails_its_probe_leaves_no_optimised_graph(tiny_checkpoint, monkeypatch):
    """The copy is what lets a later start skip the probe (NaN answers): it is kept only once
    the probe passed, so a model whose ONNX answers are not numbers is refused at every start."""
    import pytest

    from assistant.inference import prediction
    from assistant.inference.checkpoint import CheckpointError
    from assistant.inference.onnx_backend import optimized_path
    from assistant.inference.onnx_files import cache_folder
    onnx_file = ensure_onnx(tiny_checkpoint)
    real = prediction.check_finite_answers

    def not_numbers(logits, source):
        raise CheckpointError(f"{source}: the model's answers are not numbers")
    monkeypatch.setattr(prediction, "check_finite_answers", not_numbers)
    for _ in range(2):
        with pytest.raises(CheckpointError, match="not numbers"):
            open_classifier(tiny_checkpoint, "onnx")
    assert not optimized_path(onnx_file).exists() and not list(cache_folder().glob(".*.tmp"))
    monkeypatch.setattr(prediction, "check_finite_answers", real)
    open_classifier(tiny_checkpoint, "onnx")
    assert optimized_path(onnx_file).is_file()
