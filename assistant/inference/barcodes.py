"""Barcodes in a picture: the retail codes on packs (EAN-13, EAN-8, UPC-A, UPC-E) and QR codes,
read with zxing-cpp (chosen over OpenCV's detector by `main.py bench --only barcodes`: see the
README's "Barcodes"), the check digit of a typed code, and how barcode-like a picture is
when nothing can be read yet (the guidance ticks). No Qt, no model.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)

#: the formats read, as zxing-cpp names them, and as we say and store them
FORMATS = {"EAN13": "EAN-13", "EAN8": "EAN-8", "UPCA": "UPC-A", "UPCE": "UPC-E", "QRCode": "QR"}


@dataclass(frozen=True)
class Code:
    """One code read in a picture: its text (digits for retail codes), format, and the share
    of the picture's width its box spans (how close it is)."""

    text: str
    format: str
    width: float = 0.0

    @property
    def retail(self) -> bool:
        return self.format != "QR"


def _zxing_formats():
    import zxingcpp
    return [getattr(zxingcpp.BarcodeFormat, name) for name in FORMATS]


def read_codes(rgb: np.ndarray) -> list[Code]:
    """Every readable code in an RGB picture (zxing-cpp, which also checks retail check
    digits); [] when there is none or the picture cannot be read."""
    import zxingcpp
    if rgb is None or rgb.ndim not in (2, 3) or rgb.size == 0:
        return []
    try:
        found = zxingcpp.read_barcodes(np.ascontiguousarray(rgb), formats=_zxing_formats(),
                                       try_rotate=True, try_downscale=True)
    except Exception as exc:  # a decoder failure must never stop recognition
        log.warning("barcode reading failed: %s", exc)
        return []
    codes, seen = [], set()
    width = rgb.shape[1]
    for result in found:
        fmt = FORMATS.get(str(result.format).split(".")[-1].replace("-", "").replace(" ", ""))
        fmt = fmt or _format_name(str(result.format))
        if not fmt or not getattr(result, "valid", True) or not result.text:
            continue
        text = result.text
        if len(text) == 13 and text.startswith("0") and fmt in ("EAN-13", "UPC-A"):
            text, fmt = text[1:], "UPC-A"  # an EAN-13 with a leading 0 is a UPC-A code
        if text in seen:
            continue
        seen.add(text)
        p = result.position
        xs = [p.top_left.x, p.top_right.x, p.bottom_left.x, p.bottom_right.x]
        codes.append(Code(text, fmt, (max(xs) - min(xs)) / width if width else 0.0))
    return codes


def _format_name(zxing_name: str) -> str | None:
    plain = zxing_name.replace("-", "").replace(" ", "").lower()
    return {"ean13": "EAN-13", "ean8": "EAN-8", "upca": "UPC-A", "upce": "UPC-E",
            "qrcode": "QR"}.get(plain)


def read_turned(rgb: np.ndarray, angles: tuple[float, ...] = (30.0, -30.0)) -> list[Code]:
    """read_codes on copies turned by each angle: zxing-cpp's own search covers only quarter
    turns, so a code held at 30 degrees is read about half the time without this (the
    README's table). For when a bar-like pattern is in view but nothing was read."""
    h, w = rgb.shape[:2]
    for angle in angles:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        codes = read_codes(cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REPLICATE))
        if codes:
            return codes
    return []


#: share of the picture a bar-like region must cover to be worth more work (turned reads, ticks)
BAR_LIKE = 0.05


def read_in_view(rgb: np.ndarray, turned: bool = True) -> tuple[list[Code], tuple[float, float] | None]:
    """What the live pipeline reads in a frame: the codes (with turned=True, copies turned by
    30 degrees are tried too when nothing was read), and, when none was found,
    barcode_likeness() for the guidance."""
    codes = read_codes(rgb)
    if not codes and turned:
        codes = read_turned(rgb)
    return codes, None if codes else barcode_likeness(rgb)


def read_codes_opencv(rgb: np.ndarray) -> list[Code]:
    """The same with OpenCV's own detectors (cv2.barcode for EAN/UPC, cv2.QRCodeDetector):
    kept only for the comparison in `main.py bench --only barcodes`."""
    codes = []
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    try:
        ok, texts, kinds, _ = cv2.barcode.BarcodeDetector().detectAndDecodeWithType(bgr)
    except cv2.error:
        ok, texts, kinds = False, (), ()
    if ok:
        for text, kind in zip(texts, kinds, strict=False):
            if text:
                codes.append(Code(text, {"EAN_13": "EAN-13", "EAN_8": "EAN-8", "UPC_A": "UPC-A",
                                         "UPC_E": "UPC-E"}.get(kind, kind)))
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(bgr)
    if text:
        codes.append(Code(text, "QR"))
    return codes


def _gtin_ok(digits: str) -> bool:
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def upce_to_upca(code: str) -> str | None:
    """The 12-digit UPC-A an 8-digit UPC-E stands for (number system 0 or 1), or None."""
    if len(code) != 8 or not code.isdigit() or code[0] not in "01":
        return None
    ns, d, check = code[0], code[1:7], code[7]
    last = d[5]
    if last in "012":
        body = d[0:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = d[0:3] + "00000" + d[3:5]
    elif last == "4":
        body = d[0:4] + "00000" + d[4]
    else:
        body = d[0:5] + "0000" + last
    return ns + body + check


def retail_code_ok(code: str) -> bool:
    """Whether a typed EAN-13, UPC-A (12 digits), EAN-8 or UPC-E (8 digits) has a right check
    digit; other lengths and non-digits are not retail codes."""
    if not code.isdigit() or len(code) not in (8, 12, 13):
        return False
    if _gtin_ok(code):
        return True
    upca = upce_to_upca(code) if len(code) == 8 else None
    return upca is not None and _gtin_ok(upca)


def barcode_likeness(rgb: np.ndarray) -> tuple[float, float]:
    """How much of the picture looks like a barcode's bars, and how sharp they are, each 0..1:
    strong gradients along one direction, packed into one region (the classic bar finder:
    Scharr gradients, their difference, blur, threshold, closing, the largest region). For the
    guidance ticks while nothing can be read yet."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    scale = 320 / max(gray.shape[:2])
    if scale < 1:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    best_area, best_sharp = 0.0, 0.0
    gx = cv2.convertScaleAbs(cv2.Scharr(gray, cv2.CV_32F, 1, 0))
    gy = cv2.convertScaleAbs(cv2.Scharr(gray, cv2.CV_32F, 0, 1))
    for bars in (cv2.subtract(gx, gy), cv2.subtract(gy, gx)):  # upright or lying codes
        blurred = cv2.blur(bars, (9, 9))
        _, mask = cv2.threshold(blurred, 200, 255, cv2.THRESH_BINARY)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (21, 7)))
        mask = cv2.dilate(cv2.erode(mask, None, iterations=3), None, iterations=3)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if not contours:
            continue
        biggest = max(contours, key=cv2.contourArea)
        area = cv2.contourArea(biggest) / float(gray.shape[0] * gray.shape[1])
        if area > best_area:
            x, y, w, h = cv2.boundingRect(biggest)
            patch = gray[y:y + h, x:x + w]
            sharp = float(cv2.Laplacian(patch, cv2.CV_64F).var()) if patch.size else 0.0
            best_area, best_sharp = area, min(sharp / 2000.0, 1.0)
    return min(best_area * 4, 1.0), best_sharp
