"""A fast retrain's last step (model/retrain/refit.py): once checked, the head learns from the
taught products' held-out photos too. The report keeps the checked head's figures; the old
products' held-out photos are never learnt from; the saved model names the photos it learnt
from, and the next retrain leaves them out of its comparison with it."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from assistant.inference.checkpoint import load_checkpoint
from model.retrain import RetrainConfig, retrain
from model.retrain import refit as refit_mode
from model.retrain.bank import load_bank, user_bank_path
from model.retrain.features import FeatureCache, frozen_digest
from model.retrain.refit import photo_key
from tests.model import test_retrain as retraining
from tests.model.test_retrain_leaks import key  # a feature row's identity

base, new_dir = retraining.base, retraining.new_dir  # the retrain tests' fixtures
pytestmark = pytest.mark.usefixtures("no_onnx_export")


@pytest.fixture
def refits(monkeypatch) -> dict:
    """The photos behind the rows each refit learns from: {"origin": row -> photo, "fits": [...]}."""
    seen = {"origin": {}, "fits": []}
    features, learn_head = FeatureCache.features, refit_mode.learn_head

    def traced_features(self, files, views=("photo",), *args, **kwargs):
        out, ok, reasons = features(self, files, views, *args, **kwargs)
        for f, rows, good in zip(files, out, ok, strict=True):
            if good:
                for row in rows:
                    seen["origin"][key(row)] = str(Path(f).resolve())
        return out, ok, reasons

    def traced_learn_head(feats, *args, **kwargs):
        seen["fits"].append({seen["origin"].get(key(r)) for r in feats})
        return learn_head(feats, *args, **kwargs)

    monkeypatch.setattr(FeatureCache, "features", traced_features)
    monkeypatch.setattr(refit_mode, "learn_head", traced_learn_head)
    return seen


def held_out(result, folder: Path) -> set[str]:
    return {str(Path(p).resolve()) for p, _ in result.report.heldout_photos
            if Path(p).resolve().is_relative_to(folder.resolve())}


def test_the_report_stays_the_checked_heads_and_the_saved_head_learns_the_taught_held_out_photos(
        base, new_dir, photo_dir, tmp_path, refits):
    checked = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "c.safetensors"),
                                    base=str(base), refit=False))
    assert refits["fits"] == []  # --no-refit: no second fit
    result = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "r.safetensors"),
                                   base=str(base)))
    # the figures are the checked head's, whatever the saved head learnt afterwards
    drop = ("confusion",)
    assert ({k: v for k, v in result.report.heldout.items() if k not in drop}
            == {k: v for k, v in checked.report.heldout.items() if k not in drop})
    assert result.report.bands == checked.report.bands
    # the refit learnt every taught product's held-out photo, and no old product's
    taught, old = held_out(result, new_dir), held_out(result, photo_dir)
    assert taught and old
    [learnt] = refits["fits"]
    assert taught <= learnt and not (old & learnt)
    saved = load_checkpoint(tmp_path / "r.safetensors")
    assert sorted(saved.meta["retrain"]["learnt_heldout"]) == sorted(photo_key(p) for p in taught)
    assert result.report.refit == len(taught)
    assert any(f"learnt from {len(taught)} of them" in line for line in result.report.summary_lines())
    assert any(f"aprendió también de {len(taught)}" in line for line in result.report.summary_lines("es"))
    # the saved head is not the checked one, and the network below it is untouched
    before = load_checkpoint(tmp_path / "c.safetensors").state_dict
    assert not torch.equal(before["fc.weight"], saved.state_dict["fc.weight"])
    assert all(torch.equal(before[k], saved.state_dict[k]) for k in before if not k.startswith("fc."))
    # the feature bank keeps them as learnt: a later retrain without these photos does not
    # check the taught products on rows the model in use learnt from
    bank = load_bank(user_bank_path(frozen_digest(saved, "pooled")), frozen_digest(saved, "pooled"))
    for product in retraining.NEW:
        rows, flagged = bank.rows(product)
        assert len(rows) and not bool(flagged.any()), product


def test_the_next_retrain_compares_without_the_photos_the_model_in_use_learnt(
        base, new_dir, tmp_path):
    """Taught again (the same photos, the same bursts held out), the new model is compared with
    the one in use on the photos that one never learnt from: the old products' alone."""
    first = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "a.safetensors"),
                                  base=str(base)))
    again = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "b.safetensors"),
                                  base=str(tmp_path / "a.safetensors")))
    taught = held_out(again, new_dir)
    assert taught and taught == held_out(first, new_dir)
    c = again.report.comparison
    assert c.basis == "shared" and c.n == again.report.heldout["n"] - len(taught)
    # with a model in use that did not learn them, they count
    kept = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "k.safetensors"),
                                 base=str(base), refit=False))
    again = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "d.safetensors"),
                                  base=str(tmp_path / "k.safetensors")))
    assert kept.report.refit == 0 and again.report.comparison.n == again.report.heldout["n"]


def test_the_report_gives_the_taught_products_figure_apart_from_the_old_ones(base, new_dir, tmp_path):
    """The headline counts the old products' held-out photos too; the products just taught get a
    figure of their own (what a maintainer asks), measured on their held-out photos alone."""
    result = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "t.safetensors"),
                                   base=str(base)))
    rep = result.report
    taught = [c for _, c in rep.heldout_photos if c in retraining.NEW]
    assert taught and len(taught) < rep.heldout["n"]
    figure = rep.heldout["taught"]
    assert figure["n"] == len(taught) and 1 <= figure["independent"] <= len(taught)
    per_class, counts = rep.heldout["per_class"], rep.heldout["counts"]
    right = sum(per_class[c] * counts[c] for c in retraining.NEW)
    assert figure["top1"] == pytest.approx(right / len(taught), abs=1e-3)
    assert figure["top1_low"] <= figure["top1"] <= figure["top1_high"]
    lines = rep.summary_lines("en")
    assert any(line.startswith("The products taught here alone:") and f"on {len(taught)} photos" in line
               for line in lines), lines
    assert any(line.startswith("Solo los productos enseñados aquí:") for line in rep.summary_lines("es"))
    # a model of the taught products alone (--only): the headline is theirs already
    only = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "o.safetensors"),
                                 base=str(base), only=True))
    assert "taught" not in only.report.heldout
    assert not any("taught here alone" in line for line in only.report.summary_lines("en"))



def test_with_the_upper_blocks_the_saved_model_learns_the_taught_held_out_photos_after_the_check(
        base, new_dir, photo_dir, tmp_path, monkeypatch):
    """--adapt upper changes the upper half of the network, not the lower; once checked, a short
    tail on the training photos and the taught products' held-out photos (never the old
    products') makes the saved network."""
    tails = []
    fit_upper = refit_mode.fit_upper

    def traced(model, arch, head, lowers, labels, **kwargs):
        tails.append({"photos": len(labels), "beside": len(kwargs["more"]),
                      "checked": {k: v.clone() for k, v in model.state_dict().items()}})
        return fit_upper(model, arch, head, lowers, labels, **kwargs)

    monkeypatch.setattr(refit_mode, "fit_upper", traced)
    out = tmp_path / "upper.safetensors"
    result = retrain(RetrainConfig(data=str(new_dir), out=str(out), base=str(base), adapt="upper", epochs=1))
    saved = load_checkpoint(out)
    base_sd, new_sd = load_checkpoint(base).state_dict, saved.state_dict
    for changed in ("layer4.1.conv2.weight", "layer3.0.conv1.weight"):  # the upper half: layer3-4
        assert not torch.equal(base_sd[changed], new_sd[changed]), changed
    for kept in ("conv1.weight", "layer2.1.conv2.weight", "layer2.1.bn2.running_mean"):
        assert torch.equal(base_sd[kept], new_sd[kept]), kept
    assert saved.meta["retrain"]["adapt"] == "upper"
    taught, old = held_out(result, new_dir), held_out(result, photo_dir)
    assert taught and old
    [tail] = tails
    assert tail["photos"] == result.report.train_photos + len(taught)  # no old product's photo
    assert tail["beside"] == len(taught)  # in their one view, beside the training photos' views
    assert sorted(saved.meta["retrain"]["learnt_heldout"]) == sorted(photo_key(p) for p in taught)
    assert result.report.refit == len(taught)
    checked = tail["checked"]
    assert not torch.equal(checked["layer4.1.conv2.weight"], new_sd["layer4.1.conv2.weight"])


def test_the_tail_reads_the_held_out_photos_where_they_lie_as_if_put_beside_in_every_view():
    """fit_upper's batches of training views and held-out photos (more) are those of the two
    put together, each held-out photo in every view, without that copy."""
    from model.retrain.head import _batch
    gen = torch.Generator().manual_seed(0)
    lowers, more = torch.randn(5, 3, 2, 4, 4, generator=gen), torch.randn(4, 2, 4, 4, generator=gen)
    together = torch.cat([lowers, more.unsqueeze(1).expand(-1, 3, -1, -1, -1)])
    pick = torch.randint(0, 3, (9,), generator=gen)
    for idx in (torch.randperm(9, generator=gen), torch.tensor([0, 4]), torch.tensor([6, 8])):
        assert torch.equal(_batch(lowers, more, idx, pick), together[idx, pick[idx]])
    assert torch.equal(_batch(lowers, None, torch.tensor([1, 3]), pick), lowers[[1, 3], pick[[1, 3]]])
    # cached maps in half precision, held-out photos in full: nothing rounded, as torch.cat would
    half = lowers.bfloat16()
    mixed = torch.cat([half, more.unsqueeze(1).expand(-1, 3, -1, -1, -1)])
    idx = torch.tensor([0, 7, 8])
    assert torch.equal(_batch(half, more, idx, pick), mixed[idx, pick[idx]])
