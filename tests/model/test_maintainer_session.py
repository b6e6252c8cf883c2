"""The maintainer session (no Qt): a retrain and its activation make the new model's ONNX file
once; activation refuses a model whose own report says worse unless told yes; the window's
report is read back from report.json without torch."""
from __future__ import annotations

import pytest

from assistant.store import models
from tests.model.test_retrain import base, new_dir  # noqa: F401  (fixtures)


@pytest.fixture
def counted_exports(monkeypatch):
    from assistant.inference import export
    calls: list = []
    real = export.export_onnx

    def counting(checkpoint, out=None):
        calls.append(checkpoint)
        return real(checkpoint, out)

    monkeypatch.setattr(export, "export_onnx", counting)
    return calls


def test_a_retrain_and_its_activation_export_the_model_once(base, new_dir, tmp_path,  # noqa: F811
                                                             counted_exports):
    from assistant.maintainer.session import MaintainerSession, retrain_here
    from model.retrain import RetrainConfig
    models.activate(base)
    counted_exports.clear()  # the base model's own file does not count
    result = retrain_here(RetrainConfig(data=str(new_dir), out=str(tmp_path / "new.safetensors"),
                                        base=str(base)))
    assert not result.cancelled and len(counted_exports) == 1
    stored = MaintainerSession().activate(result.out, yes=True)
    assert models.active_model_path() == stored.resolve()
    assert len(counted_exports) == 1, counted_exports


def test_the_report_read_back_says_what_the_retrain_said(base, new_dir, tmp_path):  # noqa: F811
    from assistant.maintainer.session import retrain_here
    from model.retrain import RetrainConfig
    from model.retrain.outcome import read_report
    result = retrain_here(RetrainConfig(data=str(new_dir), out=str(tmp_path / "new.safetensors"),
                                        base=str(base)))
    again = read_report(result.report.folder)
    for language in ("en", "es"):
        assert again.summary_lines(language) == result.report.summary_lines(language)
        assert again.per_product_lines(language) == result.report.per_product_lines(language)
    assert again.comparison == result.report.comparison
    assert again.confusion_picture == result.report.confusion_picture


def test_a_worse_model_is_refused_unless_yes(tmp_path, tiny_checkpoint):
    from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
    from assistant.maintainer.session import MaintainerSession, Worse
    ckpt = load_checkpoint(tiny_checkpoint)
    meta = dict(ckpt.meta, retrain={"comparison": {"verdict": "worse", "new_top1": 0.5,
                                                   "current_top1": 0.9}})
    worse = save_checkpoint(tmp_path / "worse.safetensors", ckpt.state_dict, meta)
    session = MaintainerSession()
    with pytest.raises(Worse, match="50.0% vs 90.0%"):
        session.activate(worse)
    assert models.is_bundled_active()
    assert session.activate(worse, yes=True).resolve() == models.active_model_path().resolve()
