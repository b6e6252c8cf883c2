"""From the training settings to tensors: load, split (seeded or from a file), unlabelled extras."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from model.callbacks import TrainCallback
from model.config import TrainConfig, parse_split
from model.data import PhotoSet, load_folder, read_split_file, stratified_split, write_split_file


@dataclass
class TrainData:
    classes: list[str]
    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor | None
    val_labels: torch.Tensor | None
    test_images: torch.Tensor | None
    test_labels: torch.Tensor | None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    parts: dict[str, list[int]] = field(default_factory=dict)
    photos: PhotoSet | None = None


def prepare_data(cfg: TrainConfig, cb: TrainCallback) -> TrainData:
    cb.note("train_reading", folder=cfg.data)
    photos = load_folder(cfg.data, size=cfg.image_size)
    if cfg.split_file:
        parts = read_split_file(cfg.split_file, photos, cfg.data)
    else:
        fractions = parse_split(cfg.split)
        train, val, test = stratified_split(photos.labels.tolist(), fractions, cfg.seed)
        parts = {"train": train, "val": val, "test": test}
    skipped = list(photos.skipped)
    if skipped:
        cb.note("train_skipped", n=len(skipped))
    train_images = photos.images[parts["train"]]
    train_labels = photos.labels[parts["train"]]
    for extra in cfg.unlabeled:
        more = load_folder(extra, size=cfg.image_size, labelled=False, min_per_class=0)
        skipped += more.skipped
        train_images = torch.cat([train_images, more.images])
        train_labels = torch.cat([train_labels, more.labels])
        cb.note("train_unlabelled", n=len(more), folder=extra)

    def part(name: str):
        idx = parts.get(name) or []
        return (photos.images[idx], photos.labels[idx]) if idx else (None, None)

    val_i, val_l = part("val")
    test_i, test_l = part("test")
    cb.note("train_split", train=len(parts["train"]), val=len(parts.get("val", [])),
            test=len(parts.get("test", [])), n=len(photos.classes))
    return TrainData(photos.classes, train_images, train_labels, val_i, val_l, test_i, test_l,
                     skipped, parts, photos)


def save_split(path: str, data: TrainData) -> None:
    if data.photos is not None:
        write_split_file(path, data.photos, data.parts)
