"""Trial item 11: `models list` ranked a retrain's 92.5% on 133 near-duplicate photos above the
bundled 90.0% on 1,018. Each model is listed by its name, its figure with the photos it was
measured on, a retrain's as its own teaching folders' photos, and no figure column to rank by."""
from __future__ import annotations

from assistant.cli import main
from tests.unit.test_model_sanity import altered


def test_each_figure_names_its_photos_and_none_is_ranked(tiny_checkpoint, tmp_path, isolated_home,
                                                         capsys):
    from assistant.store import models

    def as_retrain(meta):
        meta["metrics"] = {"heldout": {"top1": 0.925, "top3": 0.99, "n": 133}}
        meta["retrain"] = {"mode": "fast"}
    models.store_version(altered(tiny_checkpoint, tmp_path, "retrained", meta_change=as_retrain))
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    line = next(li for li in out.splitlines() if "92.5%" in li)
    assert "held out of its own teaching folders, 133 photos" in line
    assert not line.lstrip("* ").startswith("92.5%"), "the figure leads the line, as a ranking"
    assert "not comparable" in out
