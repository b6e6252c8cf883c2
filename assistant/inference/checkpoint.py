"""Self-describing model files: safetensors weights + JSON metadata, written atomically.

A model file can never run code (no pickle). Loading checks the format, the metadata and a
SHA-256 of the weights, and refuses anything damaged, truncated or tampered with, with a
message that says which file and why.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from safetensors import safe_open

from assistant.catalog.languages import LANGUAGES, localized
from assistant.errors import UserError
from assistant.files import atomic_write, is_product_id
from assistant.inference.architectures import ARCHITECTURES, build_model
from assistant.inference.vision import Preprocessing

if TYPE_CHECKING:
    import torch
    from torch import nn

FORMAT = "grocery-assistant-checkpoint"
#: metadata beyond this is not a model's (the bundled ones hold about 30,000 characters)
MAX_META_CHARS = 4_000_000
FORMAT_VERSION = 1
META_KEY = "grocery_assistant"


class CheckpointError(UserError):
    """A model file that cannot be used; str() is a sentence for the user."""


@dataclass
class Checkpoint:
    state_dict: dict[str, torch.Tensor]
    meta: dict
    path: Path | None = field(default=None)

    @property
    def architecture(self) -> str:
        return self.meta["architecture"]

    @property
    def class_ids(self) -> list[str]:
        return [c["id"] for c in self.meta["classes"]]

    @property
    def preprocessing(self) -> Preprocessing:
        return Preprocessing.from_dict(self.meta["preprocessing"])

    def name(self, index: int, language: str = "en") -> str:
        return localized(self.meta["classes"][index]["names"], language)

    @property
    def version(self) -> str:
        return self.meta.get("version") or self.meta.get("created", "unknown")

    def at_size(self, size: int) -> Checkpoint:
        """The same weights used at another input size (a fully convolutional network with
        a pooled head: every weight fits; its figures are then the new size's to measure)."""
        prep = dict(self.meta["preprocessing"], size=int(size))
        Preprocessing.from_dict(prep)  # a sensible size, or ValueError
        return Checkpoint(self.state_dict, dict(self.meta, preprocessing=prep), self.path)

    def network(self, device: str | torch.device = "cpu") -> nn.Module:
        """The network these weights belong to, in fp32, in eval mode, channels-last: the one
        place a checkpoint becomes a network (the classifier, the feature cache, teachers)."""
        import torch

        model = build_model(self.architecture, len(self.class_ids), None, self.preprocessing.size)
        try:
            model.load_state_dict({k: v.float() if v.is_floating_point() else v
                                   for k, v in self.state_dict.items()})
        except RuntimeError as exc:
            raise CheckpointError(f"{self.path}: the weights do not fit a {self.architecture} "
                                  f"with {len(self.class_ids)} products") from exc
        return model.to(device).eval().to(memory_format=torch.channels_last)


def make_classes(ids: list[str], names: dict[str, dict[str, str]] | None = None) -> list[dict]:
    """Class entries for the metadata; names[id] = {"en": ..., "es": ...}, else the id spoken."""
    names = names or {}
    out = []
    for cid in ids:
        spoken = dict(names.get(cid, {}))
        default = cid.replace("_", " ").replace("-", " ")
        for lang in LANGUAGES:
            spoken.setdefault(lang, default)
        out.append({"id": cid, "names": spoken})
    return out


def weights_digest(tensors: dict[str, torch.Tensor]) -> str:
    import torch

    digest = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key].contiguous()
        digest.update(key.encode())
        digest.update(str(t.dtype).encode())
        digest.update(str(tuple(t.shape)).encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def save_checkpoint(path: str | os.PathLike, state_dict: dict[str, torch.Tensor], meta: dict,
                    half: bool = True) -> Path:
    """Write weights + metadata atomically (temp file, fsync, os.replace)."""
    import torch

    path = Path(path)
    tensors = {}
    for key, value in state_dict.items():
        t = value.detach().to("cpu").contiguous()
        if half and t.is_floating_point():
            t = t.to(torch.float16)
        tensors[key] = t.clone()
    meta = dict(meta)
    meta.setdefault("format", FORMAT)
    meta.setdefault("format_version", FORMAT_VERSION)
    meta.setdefault("created", _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat())
    meta["num_classes"] = len(meta.get("classes", []))
    meta["weights_sha256"] = weights_digest(tensors)
    validate_meta(meta, source=str(path))
    with atomic_write(path) as tmp:
        save_file(tensors, str(tmp), metadata={META_KEY: json.dumps(meta, ensure_ascii=False)})
    return path


def save_file(tensors: dict, filename: str, metadata: dict | None = None) -> None:
    """safetensors' writer, imported on use: reading a model's metadata needs no torch."""
    from safetensors.torch import save_file as write
    write(tensors, filename, metadata=metadata)


def check_finite_weights(path: str | os.PathLike) -> None:
    """Refuse in one line a model file with a weight that is not a number (NaN, infinite): its
    answers would not be numbers either. Read with numpy, no torch (about 30 ms for the 22 MB
    default), so that such a file is refused before anything is built from it (an ONNX export
    took 10 s, a PyTorch network 12 s, before the probe of the answers refused it)."""
    import numpy as np

    from assistant.inference.prediction import not_numbers
    try:
        with safe_open(str(path), framework="numpy") as f:
            finite = all(np.isfinite(values).all() for values in map(f.get_tensor, f.keys())
                         if values.dtype.kind == "f")
    except Exception:  # noqa: BLE001  bf16 (numpy has none), or a damaged file (safetensors
        return          # raises its own types): the load's checks say what is wrong
    if not finite:
        raise not_numbers(path)


def read_metadata(path: str | os.PathLike) -> dict:
    """The metadata alone (reads only the file's header)."""
    path = Path(path)
    _check_exists(path)
    try:
        with safe_open(str(path), framework="numpy") as f:
            raw = (f.metadata() or {}).get(META_KEY)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{path}: not a valid model file (damaged or truncated: {exc})") from exc
    meta = _parse_meta(raw, path)
    validate_meta(meta, source=str(path))
    return meta


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    path = Path(path)
    _check_exists(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get(META_KEY)
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except Exception as exc:
        raise CheckpointError(f"{path}: not a valid model file (damaged or truncated: {exc})") from exc
    meta = _parse_meta(raw, path)
    validate_meta(meta, source=str(path))
    if weights_digest(tensors) != meta["weights_sha256"]:
        raise CheckpointError(f"{path}: the weights do not match their checksum (file damaged or altered)")
    return Checkpoint(tensors, meta, path)


def _check_exists(path: Path) -> None:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such model file")


def _parse_meta(raw: str | None, path: Path) -> dict:
    if not raw:
        raise CheckpointError(f"{path}: not a grocery-assistant model (no metadata)")
    if len(raw) > MAX_META_CHARS:
        raise CheckpointError(f"{path}: the model's metadata is implausibly large ({len(raw)} characters)")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: the model's metadata is damaged ({exc})") from exc
    except RecursionError:
        raise CheckpointError(f"{path}: the model's metadata is damaged (nested too deeply)") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: the model's metadata is damaged")
    return meta


def validate_meta(meta: dict, source: str = "model") -> None:
    def fail(why: str) -> None:
        raise CheckpointError(f"{source}: {why}")

    if meta.get("format") != FORMAT:
        fail("not a grocery-assistant model file")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        fail(f"made by a newer version of the assistant (format {version}); please update")
    if meta.get("architecture") not in ARCHITECTURES:
        fail(f"unknown architecture {meta.get('architecture')!r}")
    classes = meta.get("classes")
    if not isinstance(classes, list) or len(classes) < 2:
        fail("the model must know at least two products")
    ids = []
    for entry in classes:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
            fail("a product entry has no id")
        if not is_product_id(entry["id"]):
            fail(f"product id {entry['id']!r} is not allowed (letters, digits, _ - . only)")
        names = entry.get("names")
        if not isinstance(names, dict) or not all(isinstance(names.get(lang), str) and names[lang]
                                                  for lang in LANGUAGES):
            fail(f"product {entry['id']!r} lacks its spoken names in {', '.join(LANGUAGES)}")
        ids.append(entry["id"])
    if len(set(ids)) != len(ids):
        fail("two products share one id")
    if meta.get("num_classes", len(ids)) != len(ids):
        fail("the number of products does not match the product list")
    try:
        Preprocessing.from_dict(meta.get("preprocessing") or {})
    except ValueError as exc:
        fail(str(exc))
    if not isinstance(meta.get("weights_sha256"), str):
        fail("no weights checksum")
    metrics = meta.get("metrics", {})
    if not isinstance(metrics, dict) or not all(isinstance(v, dict) for v in metrics.values()):
        fail("the model's metrics are damaged (expected a table per photo set)")
    for name in ("version", "created"):
        if name in meta and not isinstance(meta[name], str):
            fail(f"the model's {name} is damaged")
    for name in ("calibration", "training", "retrain"):
        if name in meta and not isinstance(meta[name], dict):
            fail(f"the model's {name} record is damaged")


def head_only_base(meta: dict) -> Path | None:
    """The model a fast, head-only retrain started from (its network is that model's, only the
    head was fitted), or None for any other model."""
    retrain = meta.get("retrain") or {}
    if retrain.get("mode") != "fast" or retrain.get("adapt", "head") != "head" or not retrain.get("base") \
            or retrain.get("upper_start") == "imagenet":  # the head read ImageNet's upper blocks
        return None
    return Path(retrain["base"])
