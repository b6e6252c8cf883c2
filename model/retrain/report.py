"""What a retrained model is worth, before anyone activates it: held-out accuracy overall and
per product, the normalised confusion matrix as a picture, the look-alike pairs, and a verdict
against the model in use ("better", "same", "worse" or "unknown")."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from model.evaluate import LOOKALIKE_MIN, lookalikes, metrics
from model.retrain.outcome import Comparison, RetrainReport

#: on the same photos, a difference counts when McNemar's exact test puts it below this chance
SIGNIFICANCE = 0.05
#: compared only with the accuracy recorded for the model in use (other photos): a drop
#: larger than this counts as worse
WORSE_BY = 0.01


def heldout_metrics(logits: torch.Tensor, labels: torch.Tensor, classes: list[str],
                    groups=None) -> dict:
    """metrics() with the photos per product and, groups given (a burst id per photo), how many
    independent photos (bursts) the figure rests on and its 95% interval counted on those."""
    from model.calibrate import lower_bound
    res = metrics(logits, labels, classes)
    res["counts"] = {classes[int(y)]: int((labels == y).sum()) for y in labels.unique()} if len(labels) else {}
    if len(labels):
        n = len(set(groups.tolist() if hasattr(groups, "tolist") else groups)) if groups is not None \
            else len(labels)
        res["independent"] = n
        res["top1_low"] = round(lower_bound(res["top1"], n), 4)
        res["top1_high"] = round(1 - lower_bound(1 - res["top1"], n), 4)
    return res


def measured(logits: torch.Tensor, labels: torch.Tensor, classes: list[str], groups: list,
             taught: set[int], twins_only: list[str]) -> tuple[dict, dict | None, torch.Tensor]:
    """The held-out figures, the calibration fitted on them, and which rows they count.

    The photos of a product whose photos are all one burst were held out from that burst
    (bursts.hold_out): twins of its training photos, checked on memory. They are left out of the
    figures and of the calibration (while other photos are there to count), and given a figure
    of their own (`twins`): on the 81 GroceryStore products, four products were so."""
    from model.calibrate import calibrate
    twin = torch.tensor([classes[int(y)] in twins_only for y in labels], dtype=torch.bool)
    counted = ~twin if bool((~twin).any()) else torch.ones(len(labels), dtype=torch.bool)
    kept = [g for g, keep in zip(groups, counted.tolist(), strict=True) if keep]
    held = heldout_metrics(logits[counted], labels[counted], classes, kept)
    figure = taught_figure(logits[counted], labels[counted], classes, kept, taught)
    if figure is not None:
        held["taught"] = figure
    if bool(twin.any()) and not bool(twin.all()):
        held["twins"] = {"n": int(twin.sum()),
                         "top1": round(float((logits[twin].argmax(1) == labels[twin]).float().mean()), 4)}
    calibration = calibrate(logits[counted].numpy(), labels[counted].numpy(), classes, "retrain held-out",
                            groups=kept) if int(counted.sum()) else None
    return held, calibration, counted


def taught_figure(logits: torch.Tensor, labels: torch.Tensor, classes: list[str], groups,
                  rows: set[int]) -> dict | None:
    """The held-out figure of the products taught in this retrain alone (rows: their indices),
    when the report's also counts other products (the model's old ones, usually named right
    far more often): what a maintainer asks of the products just taught. None otherwise."""
    mask = torch.tensor([int(y) in rows for y in labels], dtype=torch.bool)
    if not bool(mask.any()) or bool(mask.all()):
        return None
    kept = [g for g, keep in zip(list(groups), mask.tolist(), strict=True) if keep]
    res = heldout_metrics(logits[mask], labels[mask], classes, kept)
    return {k: res[k] for k in ("top1", "n", "independent", "top1_low", "top1_high")}


def independent_photos(files: list, labels: torch.Tensor, feats: torch.Tensor | None) -> list[int]:
    """A burst id per held-out photo (model.retrain.bursts; rows past len(files), from a feature
    bank, are each their own): near-twins among the held-out photos count once."""
    from model.retrain.bursts import burst_labels
    n = len(labels)
    ids = burst_labels(list(files), labels[:len(files)].tolist(),
                       None if feats is None else feats[:len(files)].float().numpy()).tolist()
    start = max(ids, default=-1) + 1
    return ids + list(range(start, start + n - len(files)))


def one_sided_p(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2): McNemar's exact test on the n photos that exactly
    one of the two models gets right, k of them by the model in use."""
    from math import comb
    return sum(comb(n, i) for i in range(k, n + 1)) / 2 ** n if n else 1.0


def sure_wrong(logits: torch.Tensor, labels: torch.Tensor, calibration: dict | None) -> torch.Tensor:
    """Per photo: would the model say a wrong product as sure (its own calibrated say band)?"""
    from assistant.inference.calibration import Calibration
    cal = Calibration.from_meta({"calibration": calibration or {}})
    probs = torch.from_numpy(cal.probabilities(logits.float().numpy()))
    conf, top = probs.max(1)
    return (conf >= cal.thresholds()[0]) & (top != labels)


def compare(new_logits: torch.Tensor, current_logits: torch.Tensor | None, labels: torch.Tensor,
            shared_mask: torch.Tensor, current_recorded: float | None, new_top1: float | None,
            new_calibration: dict | None = None, current_calibration: dict | None = None
            ) -> Comparison:
    """new vs current on the held-out photos of shared products (current_logits already mapped
    to the new class order, -inf for products the current model does not know). "worse" and
    "better" only when the difference on the same photos is beyond chance (McNemar, 5 %). A
    new model that says clearly more wrong products as sure is "worse" too, whatever its top-1:
    a shopper cannot check a sure answer."""
    n = int(shared_mask.sum())
    if current_logits is not None and n:
        y = labels[shared_mask]
        new_ok = new_logits[shared_mask].argmax(1) == y
        cur_ok = current_logits[shared_mask].argmax(1) == y
        only_cur, only_new = int((cur_ok & ~new_ok).sum()), int((new_ok & ~cur_ok).sum())
        verdict = ("worse" if one_sided_p(only_cur, only_cur + only_new) < SIGNIFICANCE else
                   "better" if one_sided_p(only_new, only_cur + only_new) < SIGNIFICANCE else "same")
        new_sw = sure_wrong(new_logits[shared_mask], y, new_calibration)
        cur_sw = sure_wrong(current_logits[shared_mask], y, current_calibration)
        more, fewer = int((new_sw & ~cur_sw).sum()), int((cur_sw & ~new_sw).sum())
        more_sure_wrong = one_sided_p(more, more + fewer) < SIGNIFICANCE
        if more_sure_wrong:
            verdict = "worse"
        elif verdict == "better" and more > fewer:
            verdict = "same"  # more right answers, but more confident mistakes: not better
        c = Comparison(verdict, round(float(cur_ok.float().mean()), 4),
                       round(float(new_ok.float().mean()), 4), n, "", int(cur_sw.sum()),
                       int(new_sw.sum()), only_cur, only_new, more_sure_wrong, "shared")
    elif current_recorded is not None and new_top1 is not None:
        # other photos: only a difference larger than WORSE_BY either way says anything
        verdict = ("worse" if new_top1 < current_recorded - WORSE_BY else
                   "better" if new_top1 > current_recorded + WORSE_BY else "same")
        c = Comparison(verdict, round(current_recorded, 4), round(new_top1, 4), 0, basis="recorded")
    else:
        c = Comparison("unknown", None, None, 0)
    c.note = " ".join(c.lines("en"))  # the English of it, for the records
    return c


def write(report: RetrainReport, folder: Path, confusion: list[list[int]]) -> RetrainReport:
    """report.json, report.txt and the normalised confusion picture into folder."""
    from model.report import plot_confusion
    folder.mkdir(parents=True, exist_ok=True)
    report.folder = folder
    if confusion and report.heldout.get("n"):
        labels = [n if len(report.classes) <= 40 else c for c, n in zip(report.classes, report.names, strict=True)]
        report.confusion_picture = plot_confusion(
            confusion, labels, folder / "confusion_heldout_normalised.png", True,
            f"Normalised confusion matrix (held out, top-1 {report.heldout['top1']:.1%})")
    (folder / "report.json").write_text(json.dumps(report.to_dict(), indent=1, ensure_ascii=False))
    text = report.summary_lines() + ["", "Per product (held out):"] + report.per_product_lines()
    text += [f"skipped {p}: {why}" for p, why in report.skipped]
    (folder / "report.txt").write_text("\n".join(text) + "\n", encoding="utf-8")
    return report


def make_lookalikes(confusion: list[list[int]], classes: list[str], names: list[str]) -> list[dict]:
    """The pairs confused at least LOOKALIKE_MIN times (and 5 % of the time), worst first."""
    if not confusion:
        return []
    return lookalikes(confusion, classes, names, min_rate=0.05, most=10, min_count=LOOKALIKE_MIN)
