"""A photo out of an HTTP request: the three ways clients send it (multipart, a raw image, the
2020 base64 body), and the limits on format, pixels and decoded memory that turn a bad upload
into a 4xx with a sentence (ApiError) before the model sees it."""
from __future__ import annotations

import base64
import binascii
import io

from assistant.service.batcher import return_memory

MAX_PIXELS = 50_000_000
#: memory one upload may take decoded (a small PNG can hold a huge picture)
MAX_DECODED = 64 * 2**20
#: Formats a camera or phone produces; MPO is the JPEG flavour of some phones.
ALLOWED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "BMP": "BMP"}
LEGACY_TYPE = "application/image"
RAW_TYPES = ("image/jpeg", "image/png", "image/webp", "image/bmp", "application/octet-stream")
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF", b"BM")


class ApiError(Exception):
    """A request the service refuses; becomes {"error": message} with this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def picture_from_bytes(data: bytes, size: int, max_pixels: int = MAX_PIXELS,
                       max_decoded: int = MAX_DECODED):
    """Upload bytes -> (3xSxS uint8 array for the model, the barcodes read in the full-size
    picture), or ApiError saying what is wrong."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from assistant.inference.vision import ImageError, fit_square, load_image
    if not data:
        raise ApiError(400, "the body is empty: send a photo")
    allowed = ", ".join(sorted(set(ALLOWED_FORMATS.values())))
    try:
        with Image.open(io.BytesIO(data)) as img:  # reads the header only
            fmt, (w, h) = img.format, img.size
    except UnidentifiedImageError:
        raise ApiError(415, f"this is not a picture in a known format (send {allowed})") from None
    except Image.DecompressionBombError:
        raise ApiError(422, f"the picture has too many pixels (limit {max_pixels / 1e6:g} megapixels)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ApiError(422, f"the picture is damaged ({exc})") from None
    if fmt not in ALLOWED_FORMATS:
        raise ApiError(415, f"{fmt} pictures are not accepted (send {allowed})")
    if w * h > max_pixels:
        raise ApiError(422, f"the picture has too many pixels ({w}x{h}; limit {max_pixels / 1e6:g} megapixels)")
    from assistant.inference.barcodes import read_codes
    try:
        full = load_image(data, max_bytes=max_decoded)
        codes = read_codes(full)
        rgb = fit_square(full, size)
        del full
    except ImageError as exc:
        raise ApiError(422, str(exc).removeprefix("upload: ")) from None
    finally:
        if w * h > 4_000_000:
            return_memory()  # a big picture's buffers go back to the system, not kept by malloc
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)), codes


def legacy_bytes(body: bytes) -> bytes:
    """The 2020 body: the photo in base64 (a data: URL prefix and line breaks tolerated)."""
    if body.startswith(_IMAGE_MAGIC):
        return body  # some clients sent the raw file with the 2020 content type
    text = body.strip()
    if text.startswith(b"data:") and b"," in text:
        text = text.split(b",", 1)[1]
    text = b"".join(text.split())
    altchars = b"-_" if b"-" in text or b"_" in text else None  # URL-safe base64
    try:
        return base64.b64decode(text + b"=" * (-len(text) % 4), altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "the body is not base64: the 2020 form sends the photo base64-encoded "
                            f"with Content-Type: {LEGACY_TYPE}") from None


async def upload_bytes(request) -> bytes:
    """The photo's bytes from a starlette Request, whichever of the three forms it came in."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not await request.body():
        raise ApiError(400, "the body is empty: send a photo")
    if kind == "multipart/form-data":
        from starlette.datastructures import UploadFile
        try:
            form = await request.form(max_files=2, max_fields=10)
        except Exception as exc:  # python-multipart's parse errors
            raise ApiError(400, f"the multipart form is malformed ({exc})") from None
        files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
        chosen = form.get("file") if isinstance(form.get("file"), UploadFile) else (files or [None])[0]
        if chosen is None:
            raise ApiError(400, "the form has no file: send the photo in the form field 'file'")
        return await chosen.read()
    if kind == LEGACY_TYPE:
        return legacy_bytes(await request.body())
    if kind in RAW_TYPES:
        return await request.body()
    raise ApiError(415, f"unsupported Content-Type {kind or '(none)'!r}: send multipart/form-data "
                        f"with a field 'file', a raw image/*, or base64 as {LEGACY_TYPE}")
