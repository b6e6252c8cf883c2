"""Fast mode with `--adapt upper`: cached views of each photo serve the next retrain too, and
without photos of the old products the refusal is said in the user's language (that the upper
half changes and the lower does not: test_retrain_refit.py, with the tail after the check)."""
from __future__ import annotations

import pytest
import torch

from assistant.inference.checkpoint import load_checkpoint
from model.retrain import RetrainConfig, retrain
from tests.model import test_retrain as retraining

Recorder = retraining.Recorder
pytestmark = pytest.mark.usefixtures("no_onnx_export")  # not this file's subject
base, new_dir = retraining.base, retraining.new_dir  # the retrain tests' fixtures


def test_upper_adaptation_without_photos_of_the_old_products_says_so_in_the_users_language(
        tiny_checkpoint, new_dir, tmp_path):
    from assistant.catalog import error_text
    from assistant.errors import DataError
    with pytest.raises(DataError) as caught:
        retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "u.safetensors"),
                              base=str(tiny_checkpoint), base_data=[str(tmp_path)], adapt="upper"))
    spanish = error_text(caught.value, "es")
    assert spanish.startswith("Ajustar los bloques superiores") and "blue_milk" in spanish
    assert not (tmp_path / "u.safetensors").exists()


def test_upper_adaptation_learns_from_every_view_and_reuses_the_cache(base, new_dir, tmp_path):
    """Every view of each photo (crop_views: the photo, its mirror image, a crop) is cached at the
    lower level; a model made by --adapt upper keeps the lower blocks, so a retrain from it finds
    every old photo's views in the cache, and its estimate counts none of them as still to read."""
    from assistant.store import timings
    from model.retrain.core import warm_cache
    from model.retrain.features import METER, FeatureCache, crop_views

    first = tmp_path / "first.safetensors"
    cold = Recorder()
    retrain(RetrainConfig(data=str(new_dir), out=str(first), base=str(base), adapt="upper", epochs=3), cold)
    warm = Recorder()
    METER.reset()
    retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "second.safetensors"), base=str(first),
                          adapt="upper", epochs=1), warm)
    assert any("reading" in m for m in cold.messages)
    # the second retrain reads each photo once, whole, through the first model (the pooled
    # features its bursts are found in), and none of the views at the lower level again
    assert METER.views == cold.forecast.job.photos, METER.views
    # the estimates count what is read: every view of every photo at first, nothing the second time
    assert cold.forecast.job.cold == len(crop_views()) * cold.forecast.job.photos > 0
    assert warm.forecast.job.cold == 0 and warm.forecast.job.photos == cold.forecast.job.photos
    told = []  # what maintainer mode's warm-up tells the window before it reads
    warm_cache(first, new_dir, counted=lambda **fields: told.append(fields))
    assert told[0]["photos"] == cold.forecast.job.photos and told[1] == {"cold_upper": 0, "upper": False}
    cache = FeatureCache(load_checkpoint(first), torch.device("cpu"), "lower")
    photos = sorted(new_dir.rglob("*.jpg"))
    feats, ok, _ = cache.features(photos[:2], crop_views())
    assert all(ok) and feats.shape[:2] == (2, len(crop_views())) == (2, timings.UPPER_VIEWS)
    views = feats[0].float().flatten(1)
    assert all(not torch.equal(views[i], views[j]) for i in range(len(views)) for j in range(i))  # distinct
    # it learnt at the photos' own size (96 px, the model 64), and the retrain from it kept that
    assert load_checkpoint(first).preprocessing.size == 96
    again, _, _ = FeatureCache(load_checkpoint(base).at_size(96), torch.device("cpu"), "lower").features(
        photos[:2], crop_views())
    assert torch.equal(again, feats)  # the same lower blocks, the same cached views


@pytest.fixture
def lite_base(tmp_path, photo_dir):
    """A Lite0 as the bundled models are made: lower blocks ImageNet's, upper blocks its own
    (here ImageNet's plus noise, far from both), for photo_dir's three products."""
    from assistant.inference.architectures import architecture, build_model, default_preprocessing
    from assistant.inference.checkpoint import make_classes, save_checkpoint
    torch.manual_seed(0)
    model = build_model("efficientnet-lite0", 3, "imagenet", 64)
    upper = architecture("efficientnet-lite0").upper_prefixes(model)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith(upper):
                p.add_(torch.randn_like(p) * 0.5)
    meta = {"architecture": "efficientnet-lite0", "classes": make_classes(["blue_milk", "green_tea", "red_sauce"]),
            "preprocessing": default_preprocessing("efficientnet-lite0", 64).to_dict(),
            "training": {"config": {"data": str(photo_dir)}}}
    return save_checkpoint(tmp_path / "lite.safetensors", model.state_dict(), meta)


def distance(path, reference: dict, key: str) -> float:
    return float((load_checkpoint(path).state_dict[key].float() - reference[key].float()).norm())


UPPER_CONV = "_blocks.12._expand_conv.weight"  # in Lite0's upper half (blocks 8-15)


@pytest.mark.parametrize("only, start", [(True, "imagenet"), (False, "model")])
def test_the_upper_blocks_start_from_imagenet_when_most_products_are_new(
        lite_base, new_dir, tmp_path, only, start):
    """With --only every product is new, and the upper blocks (shaped for the old products)
    start from ImageNet's weights; adding 2 products to 3, they start from the model's own."""
    from assistant.inference.architectures import architecture
    imagenet = architecture("efficientnet-lite0").imagenet_state()
    own = load_checkpoint(lite_base).state_dict
    out = tmp_path / "u.safetensors"
    said = Recorder()
    retrain(RetrainConfig(data=str(new_dir), out=str(out), base=str(lite_base), adapt="upper",
                          only=only, epochs=1, lr=1e-5), said)
    assert load_checkpoint(out).meta["retrain"]["upper_start"] == start
    near, far = (imagenet, own) if start == "imagenet" else (own, imagenet)
    assert distance(out, near, UPPER_CONV) < 0.1 * distance(out, far, UPPER_CONV)
    assert torch.equal(load_checkpoint(out).state_dict["_blocks.3._expand_conv.weight"],
                       own["_blocks.3._expand_conv.weight"])  # the lower half is kept as it was
    assert any("ImageNet" in m for m in said.messages) == (start == "imagenet")
    # from ImageNet, the upper blocks before the last stride-2 one (Lite0: 8-10) keep its weights
    # and statistics, and block 12 learns; from the model's own, all of them learn
    new = load_checkpoint(out)
    assert new.meta["retrain"]["kept_blocks"] == (3 if start == "imagenet" else 0)
    if start == "imagenet":
        for key in ("_blocks.9._expand_conv.weight", "_blocks.10._bn1.running_mean"):
            assert torch.equal(new.state_dict[key], near[key].to(new.state_dict[key].dtype)), key
        assert not torch.equal(new.state_dict[UPPER_CONV], near[UPPER_CONV].to(new.state_dict[UPPER_CONV].dtype))


def test_the_blocks_kept_from_imagenet_read_each_view_once_not_at_every_pass(
        lite_base, new_dir, tmp_path, monkeypatch):
    """From ImageNet, the kept upper blocks (Lite0: 8-10) stay as they are, so their maps are
    made once for every view of each photo and the passes, the check and the tail read those:
    over a retrain of 3 passes the first kept block sees the held-out photos under the model in
    use (the comparison), then every training view and held-out photo once, nothing more."""
    from model.retrain import features
    from model.retrain.features import crop_views
    seen = []
    made = features.FeatureCache.__init__

    def spied(self, ckpt, device, level="pooled"):
        made(self, ckpt, device, level)
        if level == "lower":
            self.model._blocks[8].register_forward_hook(lambda m, args, out: seen.append(len(args[0])))
    monkeypatch.setattr(features.FeatureCache, "__init__", spied)
    result = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "u.safetensors"), base=str(lite_base),
                                   adapt="upper", only=True, epochs=3))
    assert load_checkpoint(tmp_path / "u.safetensors").meta["retrain"]["kept_blocks"] == 3
    assert result.report.refit > 0  # the tail ran too
    train, held = result.report.train_photos, len(result.report.heldout_photos)
    assert sum(seen) == train * len(crop_views()) + 2 * held, (seen, train, held)


def test_the_kept_blocks_then_the_rest_are_the_upper_blocks():
    from assistant.inference.architectures import architecture, build_model
    torch.manual_seed(0)
    model = build_model("efficientnet-lite0", 3, "imagenet", 64).eval()
    arch = architecture("efficientnet-lite0")
    kept = arch.kept_upper(model)
    lower, upper = arch.split(model)
    frozen, rest = arch.split_upper(model, kept)
    with torch.no_grad():
        y = lower(torch.randn(2, 3, 64, 64))
        assert kept == 3 and frozen(y).shape[1] != y.shape[1]
        torch.testing.assert_close(rest(frozen(y)), upper(y))
        assert torch.equal(arch.split_upper(model, 0)[1](y), upper(y))


def test_without_imagenet_weights_the_upper_blocks_start_from_the_models_own(
        lite_base, new_dir, tmp_path, monkeypatch):
    from assistant.catalog import error_text
    from assistant.errors import DataError
    from assistant.inference.architectures import EfficientNetLite, PretrainedError

    def missing(self):
        raise PretrainedError("ImageNet weights for efficientnet-lite0 need the package ...")
    monkeypatch.setattr(EfficientNetLite, "imagenet_state", missing)
    out = tmp_path / "u.safetensors"
    said = Recorder()
    retrain(RetrainConfig(data=str(new_dir), out=str(out), base=str(lite_base), adapt="upper",
                          only=True, epochs=1, lr=1e-5), said)
    assert load_checkpoint(out).meta["retrain"]["upper_start"] == "model"
    assert any("not installed" in m for m in said.messages), said.messages
    with pytest.raises(DataError) as caught:  # asked for by name: refused, in the user's language
        retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "v.safetensors"), base=str(lite_base),
                              adapt="upper", only=True, upper_start="imagenet"))
    assert error_text(caught.value, "es").startswith("Los bloques superiores no pueden partir")
    assert not (tmp_path / "v.safetensors").exists()


def test_a_model_whose_lower_blocks_are_not_imagenets_keeps_its_own_upper_blocks(
        lite_base, new_dir, tmp_path):
    """ImageNet's upper blocks would not fit lower blocks trained elsewhere (a network trained
    from scratch, or fully fine-tuned): every product new or not, the model's own are kept."""
    from assistant.inference.architectures import architecture
    from assistant.inference.checkpoint import save_checkpoint
    ckpt = load_checkpoint(lite_base)
    state = dict(ckpt.state_dict)
    state["_blocks.3._expand_conv.weight"] = state["_blocks.3._expand_conv.weight"] * 1.5
    scratch = save_checkpoint(tmp_path / "scratch.safetensors", state, ckpt.meta)
    out = tmp_path / "u.safetensors"
    said = Recorder()
    retrain(RetrainConfig(data=str(new_dir), out=str(out), base=str(scratch), adapt="upper", only=True,
                          epochs=1, lr=1e-5), said)
    assert load_checkpoint(out).meta["retrain"]["upper_start"] == "model"
    assert any("lower blocks are not ImageNet's" in m for m in said.messages), said.messages
    imagenet = architecture("efficientnet-lite0").imagenet_state()
    assert distance(out, state, UPPER_CONV) < 0.1 * distance(out, imagenet, UPPER_CONV)


def test_the_upper_blocks_can_learn_at_a_larger_input_size(base, new_dir, tmp_path, photo_dir):
    """--image-size: the lower maps are cached at the new size (not the old size's), and the
    new model says so in its preprocessing, so the app feeds it pictures of that size."""
    from assistant.inference.classifier import Classifier
    from assistant.inference.vision import load_image
    from model.retrain.features import FeatureCache
    out = tmp_path / "big.safetensors"
    retrain(RetrainConfig(data=str(new_dir), out=str(out), base=str(base), adapt="upper", epochs=1,
                          image_size=96))
    new = load_checkpoint(out)
    assert new.preprocessing.size == 96 and load_checkpoint(base).preprocessing.size == 64
    photo = sorted(new_dir.rglob("*.jpg"))[0]
    maps, ok, _ = FeatureCache(new, torch.device("cpu"), "lower").features([photo])
    assert all(ok) and maps.shape[-1] == 96 // 8  # ResNet-18's layer2 output: 1/8 of the input
    clf = Classifier(out, device="cpu")
    batch = clf.preprocessing.batch([load_image(photo)])
    assert batch.shape[-1] == 96 and clf.logits(batch).shape == (1, 5)  # the app feeds it 96 px
    with pytest.raises(ValueError, match="--adapt upper"):  # the head alone keeps the model's size
        retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "h.safetensors"), base=str(base),
                              image_size=96))


def test_the_upper_blocks_learn_at_the_photos_size_up_to_a_bound(tmp_path):
    from PIL import Image

    from model.retrain.upper import UPPER_MAX_SIZE, upper_size
    for name, size in (("big", (348, 348)), ("wide", (640, 480)), ("small", (150, 200))):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.new("RGB", size).save(tmp_path / name / f"{i}.jpg")
    (tmp_path / "small" / "broken.jpg").write_bytes(b"not a photo")
    photos = lambda name: sorted((tmp_path / name).iterdir())  # noqa: E731
    assert upper_size(224, photos("big")) == UPPER_MAX_SIZE == 300
    assert upper_size(224, photos("wide")) == 300        # a webcam's 480 px: bounded
    assert upper_size(64, photos("small")) == 150        # the photos' own short side
    assert upper_size(224, photos("small")) == 224       # never below the model's size
    assert upper_size(320, photos("big")) == 320
    assert upper_size(224, [tmp_path / "small" / "broken.jpg"]) == 224



def test_with_imagenets_upper_blocks_the_report_still_compares_with_the_model_in_use(
        lite_base, new_dir, photo_dir, tmp_path):
    """ImageNet's upper blocks replace the model's own (and the head starts afresh from the
    products' mean features: one fitted to ImageNet's features leaves the blocks little to learn,
    README maintainer section), but the report's "model in use" figure is the model in use's:
    its own upper blocks and head on the held-out photos of the products both know."""
    from pathlib import Path

    from assistant.inference.checkpoint import save_checkpoint
    from model.retrain.features import FeatureCache, split_network
    ckpt = load_checkpoint(lite_base)
    cache = FeatureCache(ckpt, torch.device("cpu"), "lower")
    _, upper = split_network(cache.model, ckpt.architecture)

    def pooled(photos):
        maps, ok, _ = cache.features(photos, ("photo",))
        assert all(ok)
        with torch.no_grad():
            return upper(maps[:, 0].float())
    # the model in use knows its products: each row its product's mean feature (own upper blocks)
    state = dict(ckpt.state_dict)
    means = torch.stack([pooled(sorted((photo_dir / c).glob("*.jpg"))).mean(0) for c in ckpt.class_ids])
    state["_fc.weight"], state["_fc.bias"] = 20 * means / means.norm(dim=1, keepdim=True), torch.zeros(3)
    known = save_checkpoint(tmp_path / "known.safetensors", state, ckpt.meta)
    result = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "u.safetensors"), base=str(known),
                                   adapt="upper", upper_start="imagenet", image_size=64, epochs=1))
    assert load_checkpoint(tmp_path / "u.safetensors").meta["retrain"]["upper_start"] == "imagenet"
    shared = [(Path(f), c) for f, c in result.report.heldout_photos if c in ckpt.class_ids]
    assert shared and result.report.comparison.n == len(shared)
    logits = pooled([f for f, _ in shared]) @ state["_fc.weight"].T
    truth = torch.tensor([ckpt.class_ids.index(c) for _, c in shared])
    expected = float((logits.argmax(1) == truth).float().mean())
    assert result.report.comparison.current_top1 == pytest.approx(expected, abs=1e-4)


def test_a_retrain_of_a_mirror_averaging_model_answers_single_pictures_and_keeps_the_cache(
        base, new_dir, tmp_path):
    """The retrain measures and calibrates single pictures, so its model answers them; the
    features of the photos do not depend on mirror averaging, so the cache is the same."""
    from assistant.inference.checkpoint import save_checkpoint
    from model.retrain.features import frozen_digest
    ckpt = load_checkpoint(base)
    meta = dict(ckpt.meta, preprocessing=dict(ckpt.meta["preprocessing"], mirror=True))
    meta.pop("weights_sha256", None)
    mirrored = save_checkpoint(tmp_path / "mirrored.safetensors", ckpt.state_dict, meta, half=False)
    assert load_checkpoint(mirrored).preprocessing.mirror
    out = tmp_path / "new.safetensors"
    retrain(RetrainConfig(data=str(new_dir), out=str(out), base=str(mirrored)))
    assert not load_checkpoint(out).preprocessing.mirror
    for level in ("pooled", "lower"):
        assert frozen_digest(load_checkpoint(mirrored), level) == frozen_digest(ckpt, level)


def test_by_default_fast_mode_adapts_the_upper_blocks_when_many_products_are_new(base, new_dir, tmp_path,
                                                                                monkeypatch):
    """`--adapt auto`, the default: the upper blocks too when at least MANY_NEW products are new
    and most of the new model's are (the two new products here, MANY_NEW lowered to 2), else the
    head alone; the warm-up tells maintainer mode the same choice."""
    import time

    from assistant.maintainer import speed
    from assistant.store import timings
    from model.retrain import config
    from model.retrain.core import warm_cache
    from model.retrain.features import METER
    monkeypatch.setattr(config, "MANY_NEW", 2)
    said = Recorder()
    METER.reset()
    asked = RetrainConfig(data=str(new_dir), out=str(tmp_path / "only.safetensors"), base=str(base),
                          only=True, epochs=1)
    result = retrain(asked, said)
    assert result.adapt == "upper" and load_checkpoint(result.out).meta["retrain"]["adapt"] == "upper"
    speed.after_retrain(asked, result, time.time() - 5.0)  # this computer's speed of the upper blocks
    assert timings.speed(timings.model_key(base))["upper_photo_s"] > 0
    assert any(m.startswith("2 products are new: the upper blocks are adapted too") for m in said.messages)
    kept = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "kept.safetensors"), base=str(base)))
    assert kept.adapt == "head"  # 2 new of 5 products
    told = []
    warm_cache(base, new_dir, counted=lambda **fields: told.append(fields), only=True)
    assert told[1]["upper"] is True
    monkeypatch.setattr(config, "MANY_NEW", 3)
    few = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "few.safetensors"), base=str(base),
                                only=True))
    assert few.adapt == "head" and load_checkpoint(few.out).meta["retrain"]["adapt"] == "head"
