"""A head-only retrain of a model of the new products alone may read ImageNet's upper blocks
when asked (`--only --upper-start imagenet`; not the default: its own check is too optimistic,
docs/retraining.md): the new model carries them, every row is fitted afresh, the report still
compares with the model in use through its own features, and every photo is read once."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from assistant.inference.checkpoint import head_only_base, load_checkpoint
from model.retrain import RetrainConfig, retrain
from tests.model import test_retrain as retraining
from tests.model import test_retrain_upper as upper_tests

Recorder = retraining.Recorder
pytestmark = pytest.mark.usefixtures("no_onnx_export")  # not this file's subject
new_dir, lite_base = retraining.new_dir, upper_tests.lite_base
UPPER_CONV, LOWER_CONV = upper_tests.UPPER_CONV, "_blocks.3._expand_conv.weight"


@pytest.mark.parametrize("only, ask, start", [(True, "imagenet", "imagenet"), (True, "auto", "model"),
                                              (False, "imagenet", "model")])
def test_a_head_reads_imagenets_upper_blocks_only_when_asked_for_a_model_of_new_products(
        lite_base, new_dir, tmp_path, only, ask, start):
    """--only --upper-start imagenet: the head reads ImageNet's upper blocks; by default, or
    with the old products kept, the model's own, as before."""
    from assistant.inference.architectures import architecture
    imagenet = architecture("efficientnet-lite0").imagenet_state()
    own = load_checkpoint(lite_base).state_dict
    out = tmp_path / "h.safetensors"
    said = Recorder()
    result = retrain(RetrainConfig(data=str(new_dir), out=str(out), base=str(lite_base), only=only,
                                   upper_start=ask), said)
    new = load_checkpoint(out)
    assert new.meta["retrain"].get("upper_start", "model") == start
    reference = imagenet if start == "imagenet" else own
    assert torch.allclose(new.state_dict[UPPER_CONV].float(), reference[UPPER_CONV].float(), atol=1e-3)
    assert torch.equal(new.state_dict[LOWER_CONV], own[LOWER_CONV])  # the lower half as it was
    assert any("ImageNet's upper blocks" in m for m in said.messages) == (start == "imagenet")
    # a network that is not its base's is never exported or measured as "the base plus a head"
    assert (head_only_base(new.meta) is None) == (start == "imagenet")
    if start == "imagenet":  # (the fixture's own upper blocks are noise: nothing to learn from)
        assert result.report.heldout["top1"] > 1 / len(new.class_ids)
    # the bursts were found in the features the head read: each photo went through once
    assert sum("reading" in m for m in said.messages) == 1, said.messages


def test_reading_imagenets_features_the_report_compares_with_the_model_in_use(lite_base, photo_dir, tmp_path):
    """The old products' held-out photos are judged by the model in use through its own upper
    blocks and head, not through the features the new head read."""
    from assistant.inference.checkpoint import save_checkpoint
    from model.retrain.features import FeatureCache
    ckpt = load_checkpoint(lite_base)
    cache = FeatureCache(ckpt, torch.device("cpu"))

    def pooled(photos):
        feats, ok, _ = cache.features(photos, ("photo",))
        assert all(ok)
        return feats[:, 0]
    state = dict(ckpt.state_dict)  # the model in use knows its products: rows = mean features
    means = torch.stack([pooled(sorted((photo_dir / c).glob("*.jpg"))).mean(0) for c in ckpt.class_ids])
    state["_fc.weight"], state["_fc.bias"] = 20 * means / means.norm(dim=1, keepdim=True), torch.zeros(3)
    known = save_checkpoint(tmp_path / "known.safetensors", state, ckpt.meta)
    # the model taught its own products again, alone: all of them new rows, all of them shared
    result = retrain(RetrainConfig(data=str(photo_dir), out=str(tmp_path / "h.safetensors"), base=str(known),
                                   only=True, upper_start="imagenet"))
    assert load_checkpoint(tmp_path / "h.safetensors").meta["retrain"]["upper_start"] == "imagenet"
    shared = [(Path(f), c) for f, c in result.report.heldout_photos if c in ckpt.class_ids]
    assert shared and result.report.comparison.n == len(shared)
    logits = pooled([f for f, _ in shared]) @ state["_fc.weight"].float().T
    truth = torch.tensor([ckpt.class_ids.index(c) for _, c in shared])
    expected = float((logits.argmax(1) == truth).float().mean())
    assert result.report.comparison.current_top1 == pytest.approx(expected, abs=1e-4)


def test_features_prepared_for_a_model_of_the_library_alone_skip_the_known_products(lite_base, photo_dir,
                                                                                     tmp_path):
    """Maintainer mode reads the library's photos ahead (warm_cache); with "Know only my
    products" the known products' photos are not read, and the retrain reads nothing again."""
    from model.retrain.core import warm_cache
    from tests.helpers import write_products
    many = write_products(tmp_path / "many", {"purple_jam": (120, 40, 160), "yellow_oil": (230, 210, 40)},
                          seed=900)
    assert warm_cache(lite_base, many, only=True) == 32  # 2 products x 8 photos, and their mirror images
    said = Recorder()
    retrain(RetrainConfig(data=str(many), out=str(tmp_path / "h.safetensors"), base=str(lite_base), only=True),
            said)
    assert not any("reading" in m for m in said.messages), said.messages
    assert warm_cache(lite_base, many) > 0  # the known products' photos (photo_dir) were not read before


def test_a_head_asked_to_read_imagenets_features_of_a_network_not_imagenets_is_refused_in_its_words(
        tiny_checkpoint, new_dir, tmp_path):
    """The tiny ResNet-18 learnt from scratch: its lower blocks are not ImageNet's (or ImageNet's
    weights are not here); the refusal speaks of the head, not of --adapt upper's blocks."""
    from assistant.catalog import phrase
    from model.data import DataError
    with pytest.raises(DataError) as refused:
        retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "h.safetensors"),
                              base=str(tiny_checkpoint), only=True, upper_start="imagenet"))
    assert refused.value.message_id in ("err_head_no_imagenet", "err_head_lower_differs")
    for language in ("en", "es"):
        words = phrase(refused.value.message_id, language)
        assert "ImageNet" in words and "--upper-start imagenet" in words
    assert not (tmp_path / "h.safetensors").exists()
