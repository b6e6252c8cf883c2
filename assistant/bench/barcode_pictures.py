"""Pictures with a barcode in them, for the barcode tests and `main.py bench --only barcodes`: a
retail code drawn by python-barcode (a writer independent of the reader) or a QR code drawn
by zxing-cpp's writer, pasted into a photo at a given size, tilt and blur."""
from __future__ import annotations

import io

import cv2
import numpy as np

KINDS = {"EAN-13": "ean13", "EAN-8": "ean8", "UPC-A": "upca"}


def code_image(text: str, fmt: str = "EAN-13") -> np.ndarray:
    """The code on white with its quiet zone and printed digits, as on a pack (RGB); text is
    the whole code, check digit included."""
    if fmt == "QR":
        import zxingcpp
        img = np.array(zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode).to_image(scale=8))
        img = cv2.copyMakeBorder(img, 32, 32, 32, 32, cv2.BORDER_CONSTANT, value=255)
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    import barcode
    from barcode.writer import ImageWriter
    from PIL import Image
    code = barcode.get(KINDS[fmt], text[:-1], writer=ImageWriter())
    assert code.get_fullcode() == text, f"{text}: wrong check digit"
    buf = io.BytesIO()
    code.write(buf, options={"module_width": 0.33, "module_height": 18, "quiet_zone": 5,
                             "font_size": 10, "text_distance": 4, "dpi": 200})
    return np.array(Image.open(buf).convert("RGB"))


def paste(photo: np.ndarray, code: np.ndarray, width: float = 0.4, tilt: float = 0.0,
          blur: float = 0.0, at: tuple[float, float] = (0.5, 0.5)) -> np.ndarray:
    """photo with code pasted: `width` of the photo's width, turned by `tilt` degrees, then
    the whole picture blurred by a Gaussian of sigma `blur` pixels (a shaky hand)."""
    out = photo.copy()
    h, w = out.shape[:2]
    scale = width * w / code.shape[1]
    c = cv2.resize(code, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    mask = np.full(c.shape[:2], 255, np.uint8)
    if tilt:
        ch, cw = c.shape[:2]
        m = cv2.getRotationMatrix2D((cw / 2, ch / 2), tilt, 1.0)
        cos, sin = abs(m[0, 0]), abs(m[0, 1])
        nw, nh = int(ch * sin + cw * cos), int(ch * cos + cw * sin)
        m[0, 2] += nw / 2 - cw / 2
        m[1, 2] += nh / 2 - ch / 2
        mask = cv2.warpAffine(mask, m, (nw, nh))
        c = cv2.warpAffine(c, m, (nw, nh), borderValue=(255, 255, 255))
    ch, cw = c.shape[:2]
    if ch > h or cw > w:
        raise ValueError("the code does not fit in the photo")
    y0 = int(np.clip(at[1] * h - ch / 2, 0, h - ch))
    x0 = int(np.clip(at[0] * w - cw / 2, 0, w - cw))
    region = out[y0:y0 + ch, x0:x0 + cw]
    region[:] = np.where(mask[..., None] > 127, c, region)
    if blur:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    return out


def shelf_photo(seed: int = 0, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """A noisy coloured background standing in for a pack and a shelf."""
    rng = np.random.default_rng(seed)
    img = rng.integers(40, 200, size=(*size, 3), dtype=np.uint8)
    return cv2.GaussianBlur(img, (0, 0), 3)
