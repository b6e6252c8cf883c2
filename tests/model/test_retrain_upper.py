"""Fast mode with `--adapt upper`: the upper half of the network changes and the lower half does
not, six cached views of each photo serve the next retrain too, and without photos of the old
products the refusal is said in the user's language."""
from __future__ import annotations

import pytest
import torch

from assistant.inference.checkpoint import load_checkpoint
from model.retrain import RetrainConfig, retrain
from tests.model import test_retrain as retraining

Recorder = retraining.Recorder
base, new_dir = retraining.base, retraining.new_dir  # the retrain tests' fixtures


def test_fast_mode_can_adapt_the_upper_blocks(base, new_dir, tmp_path):
    out = tmp_path / "upper.safetensors"
    result = retrain(RetrainConfig(data=str(new_dir), out=str(out), base=str(base),
                                   adapt="upper", epochs=2))
    base_sd, new_sd = load_checkpoint(base).state_dict, load_checkpoint(out).state_dict
    for changed in ("layer4.1.conv2.weight", "layer3.0.conv1.weight"):  # the upper half: layer3-4
        assert not torch.equal(base_sd[changed], new_sd[changed]), changed
    for kept in ("conv1.weight", "layer2.1.conv2.weight", "layer2.1.bn2.running_mean"):
        assert torch.equal(base_sd[kept], new_sd[kept]), kept
    assert result.report.heldout["n"] > 0
    assert load_checkpoint(out).meta["retrain"]["adapt"] == "upper"


def test_upper_adaptation_without_photos_of_the_old_products_says_so_in_the_users_language(
        tiny_checkpoint, new_dir, tmp_path):
    from assistant.errors import DataError
    from assistant.live.catalog import error_text
    with pytest.raises(DataError) as caught:
        retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "u.safetensors"),
                              base=str(tiny_checkpoint), base_data=[str(tmp_path)], adapt="upper"))
    spanish = error_text(caught.value, "es")
    assert spanish.startswith("Ajustar los bloques superiores") and "blue_milk" in spanish
    assert not (tmp_path / "u.safetensors").exists()


def test_upper_adaptation_learns_from_every_view_and_reuses_the_cache(base, new_dir, tmp_path):
    """Six views of each photo are cached at the lower level; a model made by --adapt upper
    keeps the lower blocks, so a retrain from it finds every old photo's views in the cache."""
    from model.retrain.features import FeatureCache, crop_views

    first = tmp_path / "first.safetensors"
    cold = Recorder()
    retrain(RetrainConfig(data=str(new_dir), out=str(first), base=str(base), adapt="upper", epochs=3), cold)
    warm = Recorder()
    retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "second.safetensors"), base=str(first),
                          adapt="upper", epochs=1), warm)
    assert any("reading" in m for m in cold.messages)
    assert not any("reading" in m for m in warm.messages), warm.messages  # nothing computed again
    cache = FeatureCache(load_checkpoint(first), torch.device("cpu"), "lower")
    photos = sorted(new_dir.rglob("*.jpg"))
    feats, ok, _ = cache.features(photos[:2], crop_views())
    assert all(ok) and feats.shape[:2] == (2, 6)
    views = feats[0].float().flatten(1)
    assert all(not torch.equal(views[i], views[j]) for i in range(6) for j in range(i))  # six pictures
    again, _, _ = FeatureCache(load_checkpoint(base), torch.device("cpu"), "lower").features(
        photos[:2], crop_views())
    assert torch.equal(again, feats)  # the same lower blocks, the same cached views
