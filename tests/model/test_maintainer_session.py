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
    real, built = export.export_onnx, export.head_onnx

    def counting(checkpoint, out=None):
        calls.append(checkpoint)
        return real(checkpoint, out)

    def counting_head(features, out, checkpoint, *args):  # the base's network, a new head
        calls.append(checkpoint)
        return built(features, out, checkpoint, *args)

    monkeypatch.setattr(export, "export_onnx", counting)
    monkeypatch.setattr(export, "head_onnx", counting_head)
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


@pytest.mark.parametrize("base_runs, measured", [("int8", True), ("bf16", True), ("fp32", False),
                                                 (None, False), ("int8-checked", False),
                                                 ("bf16-checked", False)])
def test_a_new_head_is_measured_only_where_its_base_runs_int8_or_bf16(
        base, new_dir, tmp_path, monkeypatch, base_runs, measured):  # noqa: F811
    """A head-only retrain's network is its base's: where the base runs fp32 here, or a
    precision checked by fp32, the new model runs fp32, without the int8 build and measurement
    (most of a product's time to live)."""
    from assistant.inference import precision
    from assistant.maintainer import session
    from model import precision as making
    from model.retrain import RetrainConfig
    asked: list = []
    monkeypatch.setattr(making, "make_ready", lambda out, **kw: asked.append(out))
    recorded = None if base_runs is None else precision.PrecisionChoice(
        base_runs, "amx", 1.0, 0.9, 0.9, 6, 12)
    real = precision.read_choice
    monkeypatch.setattr(precision, "read_choice",
                        lambda path, *a, **k: recorded if str(path) == str(base) else real(path, *a, **k))
    result = session.retrain_here(RetrainConfig(data=str(new_dir), out=str(tmp_path / "new.safetensors"),
                                                base=str(base)))
    assert (asked == [result.out]) is measured, asked
