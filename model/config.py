"""Training settings and the named presets (the 2020 recipe and our measured defaults)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass
class TrainConfig:
    data: str = ""
    out: str = ""
    arch: str = "resnet18"
    pretrained: str | None = None        # None, "imagenet" or a weights file
    init: str | None = None              # continue from a trained checkpoint (same products)
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    optimizer: str = "adamw"             # adam | adamw | sgd
    schedule: str = "cosine"             # cosine | constant
    warmup_epochs: float = 1.0
    augment: str = "default"             # see model.augment.POLICIES
    mixup: float = 0.0                   # Beta(alpha, alpha); 0 = off
    label_smoothing: float = 0.1
    image_size: int = 224                # what the model sees in use
    train_size: int | None = None        # lower resolution for the early epochs
    full_size_epochs: int = 0            # last epochs trained at image_size
    teacher: list[str] = field(default_factory=list)
    temperature: float = 1.0
    distill_weight: float = 0.9          # weight of the teacher's term (1 - w: the labels)
    unlabeled: list[str] = field(default_factory=list)
    cached_views: int = 0                # > 0: the teacher answers this many seeded views of
                                         # each photo once, ahead (model.teacher_cache)
    teacher_cache: str | None = None     # where those answers are kept (default: user data folder)
    split: str = "80/10/10"              # train/val/test percentages, stratified by seed
    split_file: str | None = None
    select: str = "val_loss"             # val_loss | val_acc | last
    seed: int = 0
    device: str = "auto"
    names: str | None = None
    ema: float = 0.0                     # exponential moving average of weights; 0 = off
    max_minutes: float | None = None
    report_dir: str | None = None
    resume: bool = False
    freeze: str | None = None            # "features": train only the head; "N": freeze stem + N blocks
    heldout_from: str | None = None      # training on every photo: the same recipe's held-out run
    preset: str = "default"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


PRESETS: dict[str, dict] = {
    # The 2020 challenge: ImageNet ResNet-18, new head, Adam at a low rate, rotation/mirror,
    # 20 epochs, the epoch with the lowest validation loss; 63/27/10 split.
    "recipe2020": dict(arch="resnet18", pretrained="imagenet", epochs=20, batch_size=32, lr=1e-4,
                       weight_decay=0.0, optimizer="adam", schedule="constant", warmup_epochs=0,
                       augment="recipe2020", mixup=0.0, label_smoothing=0.0, split="63/27/10",
                       select="val_loss"),
    # Fine-tuning an ImageNet network: AdamW, cosine, random resized crops + colour jitter.
    "default": dict(epochs=30, batch_size=64, lr=1e-3, weight_decay=0.05, optimizer="adamw",
                    schedule="cosine", warmup_epochs=1, augment="default", label_smoothing=0.1,
                    select="val_acc"),
    # A student learning from a teacher: long, consistent views, mixup (Beyer et al. 2022).
    "distill": dict(epochs=300, batch_size=128, lr=2e-3, weight_decay=0.05, optimizer="adamw",
                    schedule="cosine", warmup_epochs=5, augment="strong", mixup=1.0,
                    label_smoothing=0.0, distill_weight=0.9, temperature=1.0, select="val_acc",
                    ema=0.0),
}


def parse_split(text: str) -> tuple[float, float, float]:
    try:
        parts = [float(p) for p in text.split("/")]
    except ValueError:
        parts = []
    if len(parts) != 3 or any(p < 0 for p in parts) or sum(parts) <= 0 or parts[0] <= 0:
        raise ValueError(f"--split must look like 63/27/10 (train/val/test), got {text!r}")
    total = sum(parts)
    return tuple(p / total for p in parts)  # type: ignore[return-value]
