"""THE one preprocessing: decode, centre square crop, resize, normalise.

Training, the app, the HTTP service and batch classification all call this module, so a
photo becomes the same tensor whichever path it takes (tests/unit/test_vision.py checks).
Decoding, cropping and resizing are numpy/OpenCV; normalising has a numpy twin for the
runtime (`array`, `batch_array`: no torch) and a torch one for training (`tensor`, `batch`),
which tests/unit/test_vision.py holds equal to 1e-6.
"""
from __future__ import annotations

import io
import math
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from assistant.errors import UserError

# the pixel count is checked here (MAX_PIXELS, and the decoded bytes): Pillow's own warning about
# large pictures would only be terminal noise on ordinary runs of classify and serve
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

if TYPE_CHECKING:
    import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Refuse images above this many pixels (decompression bombs); 100 megapixels.
MAX_PIXELS = 100_000_000
#: Huge photos are shrunk to this longest side while decoding; the model sees 224 px anyway.
MAX_DECODE_SIDE = 1024
#: the input sizes a model may ask for (a larger one would allocate gigabytes per frame)
MIN_INPUT_SIZE, MAX_INPUT_SIZE = 16, 1024
#: The most memory one picture may take once decoded (after JPEG's reduced-size decoding): a
#: small file can hold a huge one (a 7000x7000 16-bit PNG is 372 KB on disk, 196 MB decoded).
MAX_DECODED_BYTES = 256 * 2**20
#: bytes per pixel of a decoded picture, by PIL mode (others count as 4)
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "LA": 2, "PA": 2, "La": 2, "I;16": 2, "I;16B": 2, "I;16L": 2,
               "RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3, "RGBA": 4, "RGBa": 4, "CMYK": 4, "I": 4, "F": 4}

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class ImageError(UserError, ValueError):
    """A file or upload that cannot be turned into a picture; the message says why."""


def single_picture(prep: dict) -> dict:
    """A stored preprocessing description without mirror averaging (what the features of a photo
    depend on, and what a retrain's model does: its figures are measured on single pictures)."""
    return {k: v for k, v in prep.items() if k != "mirror"}


@dataclass(frozen=True)
class Preprocessing:
    """How a picture becomes the model's input; stored in every checkpoint."""

    size: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    crop: str = "center_square"
    #: the picture and its mirror image both go through the network and their logits are
    #: averaged (set by `evaluate --calibrate --mirror`, which fits the calibration so)
    mirror: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        # as before mirror averaging existed: the same files, the same caches
        return d if self.mirror else single_picture(d)

    @classmethod
    def from_dict(cls, data: dict) -> Preprocessing:
        try:
            prep = cls(size=int(data["size"]), mean=tuple(float(v) for v in data["mean"]),
                       std=tuple(float(v) for v in data["std"]), crop=str(data.get("crop", "center_square")),
                      mirror=data.get("mirror", False))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"invalid preprocessing description {data!r}: {exc}") from exc
        if prep.crop != "center_square" or len(prep.mean) != 3 or len(prep.std) != 3 \
                or not isinstance(prep.mirror, bool):
            raise ValueError(f"unsupported preprocessing {data!r}")
        if not MIN_INPUT_SIZE <= prep.size <= MAX_INPUT_SIZE:
            raise ValueError(f"an input size of {prep.size} px is not sensible "
                             f"({MIN_INPUT_SIZE} to {MAX_INPUT_SIZE})")
        if not all(math.isfinite(v) and -1.0 <= v <= 2.0 for v in prep.mean) \
                or not all(math.isfinite(v) and 1e-3 <= v <= 10.0 for v in prep.std):
            raise ValueError(f"the normalisation is not sensible (mean {list(prep.mean)}, std {list(prep.std)})")
        return prep

    def fit(self, rgb: np.ndarray) -> np.ndarray:
        """Centre square crop and resize to size x size (uint8 RGB, HxWx3)."""
        return fit_square(rgb, self.size)

    def normalize(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 NCHW (or CHW) torch tensor -> float32 normalised with this mean/std (training)."""
        import torch
        x = batch.float().div_(255.0) if batch.dtype == torch.uint8 else batch.float()
        shape = (1, 3, 1, 1) if x.dim() == 4 else (3, 1, 1)
        mean = torch.tensor(self.mean, device=x.device).view(shape)
        std = torch.tensor(self.std, device=x.device).view(shape)
        return (x - mean) / std

    def normalize_array(self, batch: np.ndarray) -> np.ndarray:
        """The numpy twin of normalize: uint8 (or float) NCHW/CHW array -> float32 array."""
        x = batch.astype(np.float32)
        if batch.dtype == np.uint8:
            x /= np.float32(255.0)
        shape = (1, 3, 1, 1) if x.ndim == 4 else (3, 1, 1)
        mean = np.asarray(self.mean, dtype=np.float32).reshape(shape)
        std = np.asarray(self.std, dtype=np.float32).reshape(shape)
        return np.ascontiguousarray((x - mean) / std)

    def tensor(self, rgb: np.ndarray) -> torch.Tensor:
        """One RGB picture (any size) -> 1x3xSxS float tensor ready for the model."""
        return self.normalize(to_chw(self.fit(rgb)).unsqueeze(0))

    def batch(self, pictures: list[np.ndarray]) -> torch.Tensor:
        """Several RGB pictures -> Nx3xSxS float tensor."""
        import torch
        return self.normalize(torch.stack([to_chw(self.fit(p)) for p in pictures]))

    def array(self, rgb: np.ndarray) -> np.ndarray:
        """One RGB picture (any size) -> 1x3xSxS float32 array (no torch)."""
        return self.normalize_array(chw_array(self.fit(rgb))[None])

    def batch_array(self, pictures: list[np.ndarray]) -> np.ndarray:
        """Several RGB pictures -> Nx3xSxS float32 array (no torch)."""
        return self.normalize_array(np.stack([chw_array(self.fit(p)) for p in pictures]))


def chw_array(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 array -> contiguous 3xHxW uint8 array."""
    return np.ascontiguousarray(np.asarray(rgb).transpose(2, 0, 1))


def to_chw(rgb: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 array -> 3xHxW uint8 tensor."""
    import torch
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).contiguous()


def fit_square(rgb: np.ndarray, size: int) -> np.ndarray:
    """Centre square crop, then resize to size x size."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ImageError(f"expected an RGB picture, got an array of shape {rgb.shape}")
    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = rgb[top:top + side, left:left + side]
    if side == size:
        return np.ascontiguousarray(square)
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(square, (size, size), interpolation=interp)


def bgr_to_rgb(frame: np.ndarray) -> np.ndarray:
    """OpenCV frames are BGR; the rest of the project speaks RGB."""
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def decoded_bytes(img: Image.Image) -> int:
    """How much memory the picture takes once decoded, before any conversion."""
    return img.width * img.height * _MODE_BYTES.get(img.mode, 4)


def load_image(source: str | os.PathLike | bytes, max_bytes: int = MAX_DECODED_BYTES) -> np.ndarray:
    """Decode a photo file (or its bytes) to an HxWx3 uint8 RGB array.

    Grayscale, CMYK, palette, alpha and 16-bit pictures are converted; EXIF rotation is
    applied; huge pictures are shrunk while decoding, and one that would still take more than
    max_bytes of memory decoded is refused. Anything that is not a readable picture raises
    ImageError with the reason.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        name = "upload"
    else:
        path = Path(source)
        name = str(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ImageError(f"{name}: cannot read ({exc.strerror or exc})") from exc
    if not data:
        raise ImageError(f"{name}: empty file")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise ImageError(f"{name}: too many pixels ({img.width}x{img.height})")
            img.draft("RGB", (MAX_DECODE_SIDE, MAX_DECODE_SIDE))  # fast JPEG downscale
            if decoded_bytes(img) > max_bytes:
                raise ImageError(f"{name}: too large to decode ({img.width}x{img.height} {img.mode}, "
                                 f"{decoded_bytes(img) / 2**20:.0f} MB; limit {max_bytes / 2**20:.0f} MB)")
            img.load()
            img = ImageOps.exif_transpose(img)
            if max(img.size) > MAX_DECODE_SIDE:
                img.thumbnail((MAX_DECODE_SIDE, MAX_DECODE_SIDE), Image.Resampling.BILINEAR)
            return _to_rgb_array(img)
    except ImageError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageError(f"{name}: not a picture in a known format") from exc
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: too many pixels") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{name}: damaged picture ({exc})") from exc


def _to_rgb_array(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = np.zeros_like(arr) if hi <= lo else (arr - lo) * (255.0 / (hi - lo))
        arr = arr.astype(np.uint8)
        return np.repeat(arr[:, :, None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    arr = np.array(img.convert("RGB"), dtype=np.uint8)  # writable: torch.from_numpy warns on read-only
    if arr.ndim != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError("empty picture")
    return arr


def brightness(rgb: np.ndarray) -> float:
    """Mean luminance, 0 (black) to 255 (white)."""
    small = cv2.resize(rgb, (64, 64), interpolation=cv2.INTER_AREA)
    return float(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).mean())


def sharpness(rgb: np.ndarray) -> float:
    """Variance of the Laplacian at 224 px: low means blurred or nothing textured in view."""
    gray = cv2.cvtColor(fit_square(rgb, 224), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())
