"""The HTTP service: POST /api/predict (multipart), the 2020 base64 form, health, classes, docs.

One model is loaded at start and shared; a single model thread answers the photos that wait
together as one batch (micro-batching), so concurrent requests share the CPU well and never
see each other's results. `--engine ray` runs this same app on Ray Serve (assistant.api_ray). Limits on body size, pixel count and formats turn bad input into
a 4xx with a JSON {"error": ...} sentence.
"""
# No `from __future__ import annotations` here: FastAPI reads the route functions' annotations,
# which name classes imported inside create_app.
import argparse
import asyncio
import base64
import binascii
import io
import json
import logging
import os
import time
from contextlib import asynccontextmanager
from pathlib import Path

from assistant.api_batcher import Batcher, Busy, return_memory
from assistant.api_guard import (
    BODY_DEADLINE_S,
    LOOPBACK,
    READ_TIMEOUT_S,
    TOKEN_ENV,
    BodyLimit,
    Guard,
    allowed_hosts,
)
from assistant.engines import add_engine_arguments, check_engine_arguments

log = logging.getLogger(__name__)

MAX_BODY = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000
#: memory one upload may take decoded (a small PNG can hold a huge picture)
MAX_DECODED = 64 * 2**20
#: Formats a camera or phone produces; MPO is the JPEG flavour of some phones.
ALLOWED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "BMP": "BMP"}
LEGACY_TYPE = "application/image"
RAW_TYPES = ("image/jpeg", "image/png", "image/webp", "image/bmp", "application/octet-stream")
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF", b"BM")
_CONFIG_ENV = "GROCERY_ASSISTANT_SERVE_CONFIG"


class ApiError(Exception):
    """A request the service refuses; becomes {"error": message} with this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _port(text: str) -> int:
    """A TCP port, refused in one line by argparse when it cannot be one."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:   # 0: any free port (tests and benchmarks use it)
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 1 to 65535 (0: any free one)")
    return port


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from assistant.inference.onnx_backend import add_backend_arguments
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (127.0.0.1: this machine only)")
    parser.add_argument("--port", type=_port, default=8000, help="TCP port (1-65535; 0: any free one, printed at start)")
    add_backend_arguments(parser)
    parser.add_argument("--calibration", metavar="DIR", help="photos to make onnx-int8 from (first use)")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="server processes, each with its own copy of the model")
    parser.add_argument("--max-batch", type=int, default=16, metavar="N",
                        help="most waiting photos the model answers in one pass")
    parser.add_argument("--max-body-mb", type=_limit, default=MAX_BODY / 2**20, help="largest request body")
    parser.add_argument("--max-megapixels", type=_limit, default=MAX_PIXELS / 1e6, help="largest picture")
    parser.add_argument("--max-decoded-mb", type=_limit, default=MAX_DECODED / 2**20,
                        help="most memory one picture may take once decoded")
    parser.add_argument("--token", default=None,
                        help=f"require 'Authorization: Bearer TOKEN' on /api/ (also set by ${TOKEN_ENV})")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="a name clients may use in the Host header, besides this machine's "
                             "own (repeat for several)")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    add_engine_arguments(parser)
    parser.add_argument("--replicas", type=int, default=None, metavar="N",
                        help="with --engine ray: copies of the service, each with its model "
                             "(default 1)")


def _limit(text: str) -> float:
    """A size limit: a finite number above 0. Zero must not mean "no limit": it would lift the
    body's size cap and its slow-body deadlines together."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be more than 0 (there is no 'no limit')")
    return value


# ---------------------------------------------------------------- decoding and the model thread

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


# ---------------------------------------------------------------- the application

def create_app(classifier_or_model_path, *, backend: str = "auto", device: str = "auto",
               threads: int | None = None, calibration: list | None = None,
               max_body: int = MAX_BODY, max_pixels: int = MAX_PIXELS, max_batch: int = 16,
               max_pending: int = 64, decode_workers: int = 4, read_timeout: float = READ_TIMEOUT_S,
               body_deadline: float = BODY_DEADLINE_S, max_decoded: int = MAX_DECODED,
               token: str | None = None, allowed_hosts: list | None = None,
               barcode_names=None, barcode_list: str | None = None, make_batcher=None,
               engine: str = "local", replicas: int = 1, reader=None):
    """The FastAPI app around a loaded classifier, or a model file loaded here once.

    token: required as 'Authorization: Bearer TOKEN' on /api/ when given; allowed_hosts: the
    Host names answered (None: any, as in the tests' loopback servers); barcode_names: code ->
    the user's entry (names) or None, for the codes read in each photo; barcode_list: the file
    of such a list (`serve`: the user's), read again when it changes. make_batcher(classifier):
    what answers the photos (default: the local model thread, Batcher); engine and replicas
    are what /api/health says runs the service. reader: the LabelReader for ?text=1 (default:
    opened on the first such request; a service without a text engine answers 503 to them)."""
    from fastapi import FastAPI, Query, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
    from starlette.exceptions import HTTPException

    from assistant import __version__
    from assistant import api_schema as schema

    if barcode_names is None and barcode_list:
        barcode_names = _barcode_lookup(Path(barcode_list))
    clf = classifier_or_model_path
    if isinstance(clf, str | os.PathLike):
        from assistant.inference.onnx_backend import open_classifier
        clf = open_classifier(Path(clf), backend, device=device, threads=threads, calibration=calibration)
    size = clf.preprocessing.size
    batcher = make_batcher(clf) if make_batcher else Batcher(clf, max_batch, max_pending)
    batcher.warm_up(_zeros(size))
    decode_slots = asyncio.Semaphore(decode_workers)  # bounds memory held by decoding
    names = {cid: {"en": clf.name(cid, "en"), "es": clf.name(cid, "es")} for cid in clf.class_ids}
    version = clf.checkpoint.version
    started = time.monotonic()

    @asynccontextmanager
    async def lifespan(_app):
        yield
        batcher.close()

    app = FastAPI(title="Grocery assistant", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  description="Names the grocery product in a photo. Runs offline on this machine.")
    app.state.batcher, app.state.classifier = batcher, clf

    @app.exception_handler(ApiError)
    async def _api_error(_request, exc: ApiError):
        return JSONResponse({"error": str(exc), "status": exc.status}, exc.status)

    @app.exception_handler(HTTPException)
    async def _http_error(_request, exc: HTTPException):
        return JSONResponse({"error": str(exc.detail), "status": exc.status_code}, exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _failed(_request, exc: Exception):  # logged by the server; the client gets JSON
        return JSONResponse({"error": "the service failed on this request (its log has the "
                                      "details)", "status": 500}, 500)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "body"))
        return JSONResponse({"error": f"invalid {where or 'request'}: {first.get('msg', 'invalid')}",
                             "status": 422}, 422)

    async def answer(data: bytes, k: int) -> dict:
        t0 = time.perf_counter()
        async with decode_slots:
            chw, codes = await run_in_threadpool(picture_from_bytes, data, size, max_pixels,
                                                 max_decoded)
        try:
            pred = await batcher.infer(chw)
        except Busy:
            raise ApiError(503, "the service is busy; try again in a moment") from None
        top = [{"class": cid, "score": round(p, 6), "names": names[cid]} for cid, p in pred.top[:k]]
        found = []
        for code in codes:
            entry = barcode_names(code.text) if barcode_names is not None else None
            found.append({"code": code.text, "format": code.format,
                          "name": entry.name("en") if entry else None,
                          "names": {"en": entry.name("en"), "es": entry.name("es")} if entry else None})
        return {"class": pred.label, "score": round(pred.score, 6), "names": names[pred.label],
                "top": top, "barcodes": found, "model_version": version,
                "ms": round((time.perf_counter() - t0) * 1e3, 1)}

    text_state = {"reader": reader, "problem": None}
    read_slots = asyncio.Semaphore(1)  # one reading at a time: it takes the CPU for a second

    async def read_text(data: bytes) -> dict:
        if text_state["reader"] is None and text_state["problem"] is None:
            from assistant.reading import open_reader
            text_state["reader"], text_state["problem"] = open_reader()
        if text_state["reader"] is None:
            raise ApiError(503, f"this service cannot read text: {text_state['problem']}")
        from assistant.inference.vision import load_image
        from assistant.reading import OcrUnavailable
        async with read_slots:
            try:
                full = await run_in_threadpool(load_image, data, max_decoded)
                reading = await run_in_threadpool(text_state["reader"].read, full)
            except OcrUnavailable as exc:
                text_state["reader"], text_state["problem"] = None, str(exc)
                raise ApiError(503, f"this service cannot read text: {exc}") from None
        return {"text": reading.lines, "dates": [d.to_dict() for d in reading.dates]}

    async def upload_bytes(request: Request) -> bytes:
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

    k_query = Query(3, ge=1, le=100, description="how many candidates to list in 'top'")
    text_query = Query(False, description="also read the text and dates on the pack ('text', "
                                          "'dates'; about a second more)")

    # exclude_unset: 'text' and 'dates' are in the answer only when they were asked for
    @app.post("/api/predict", response_model=schema.PredictAnswer, responses=schema.ERRORS, openapi_extra=schema.PREDICT_BODY,
              summary="Name the product in a photo", response_model_exclude_unset=True)
    async def predict(request: Request, k: int = k_query, text: bool = text_query):
        """Upload a photo as multipart form field `file` (JPEG, PNG, WebP or BMP)."""
        data = await upload_bytes(request)
        result = await answer(data, k)
        return {**result, **await read_text(data)} if text else result

    @app.post("/api/predict/", response_model=schema.PredictAnswer, responses=schema.ERRORS, openapi_extra=schema.LEGACY_BODY,
              summary="The 2020 form: base64 body", response_model_exclude_unset=True)
    async def predict_2020(request: Request, k: int = k_query):
        """The 2020 clients' request: the photo base64-encoded, `Content-Type: application/image`.
        The answer keeps the 2020 fields `class` and `score` and adds the new ones."""
        return await answer(await upload_bytes(request), k)

    @app.get("/api/health", response_model=schema.Health, summary="Is the service up, and with which model")
    async def health():
        return {"status": "ok", "model": Path(str(clf.path)).name, "model_version": version,
                "backend": getattr(clf, "backend", "torch"), "classes": len(clf.class_ids),
                "pending": batcher.pending, "uptime_s": round(time.monotonic() - started, 1),
                "engine": engine, "replicas": replicas}

    @app.get("/api/classes", response_model=schema.ClassList, summary="The products the model knows")
    async def classes():
        return {"model_version": version,
                "classes": [{"id": cid, "names": names[cid]} for cid in clf.class_ids]}

    @app.get("/docs", include_in_schema=False)
    async def docs():
        return HTMLResponse(schema.docs_page(app.openapi()))

    if not max_body > 0:  # 0 would lift the size cap and the slow-body deadlines at once
        raise ValueError(f"max_body must be more than 0, not {max_body}")
    guarded = BodyLimit(app, max_body, read_timeout, body_deadline)
    if token or allowed_hosts:
        guarded = Guard(guarded, set(allowed_hosts) if allowed_hosts else None, token)
    return guarded


def _barcode_lookup(path: Path):
    """code -> entry of the list at path. The store answers each lookup from disk, so a code
    the maintainer teaches while the service runs is named at once; a list that is not there
    yet is looked for again when its file appears or changes; an unreadable one names nothing
    and is logged."""
    from assistant.store.barcodes import BarcodeError, open_book, store_paths
    files = store_paths(path)
    state: dict = {"stamp": None, "book": None}

    def lookup(code: str):
        if state["book"] is None:
            stamp = [f.stat().st_mtime_ns if f.exists() else None for f in files]
            if stamp == state["stamp"] or stamp == [None, None]:
                return None
            state["stamp"] = stamp
            state["book"] = open_book(path)[0]
            if state["book"] is None:
                return None
        try:
            return state["book"].get(code)
        except BarcodeError as exc:
            log.warning("%s", exc)
            return None
    return lookup


def _zeros(size: int):
    import numpy as np
    return np.zeros((3, size, size), dtype=np.uint8)


def app_from_env():
    """uvicorn factory for --workers > 1: each process builds its app from the saved flags."""
    config = json.loads(os.environ[_CONFIG_ENV])
    return create_app(config.pop("model"), **config)


def run(args: argparse.Namespace) -> int:
    import sys

    check_engine_arguments(args, {"workers": args.workers})
    from assistant.store.barcodes import default_path as default_barcode_list
    from assistant.store.models import active_model_path
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if args.host not in LOOPBACK:
        warning = (f"listening on {args.host}: other machines on the network can reach the service"
                   + ("" if token else f"; anyone of them can use it (set --token or ${TOKEN_ENV})"))
        log.warning("%s", warning)
        print(f"serve: warning: {warning}", file=sys.stderr)
    config = {"model": str(args.model or active_model_path()), "backend": args.backend,
              "device": args.device, "threads": args.threads, "max_batch": args.max_batch,
              "max_body": int(args.max_body_mb * 2**20), "max_pixels": int(args.max_megapixels * 1e6),
              "max_decoded": int(args.max_decoded_mb * 2**20), "token": token,
              "allowed_hosts": sorted(allowed_hosts(args.host, args.allow_host)),
              "barcode_list": str(default_barcode_list())}
    if args.backend == "onnx-int8" and args.calibration:
        from assistant.files import photos_in
        config["calibration"] = [str(p) for p in photos_in(args.calibration)]
    if args.engine == "ray":
        from assistant.engines import import_ray
        import_ray(local=not args.address)  # before the module below imports it
        from assistant.api_ray import serve_on_ray
        return serve_on_ray(config, args.host, args.port, args.replicas or 1, args.address)
    import uvicorn

    from assistant.api_server import server_options
    config["replicas"] = args.workers
    common = dict(host=args.host, port=args.port, access_log=args.access_log, log_level="info",
                  **server_options())
    if args.workers > 1:
        os.environ[_CONFIG_ENV] = json.dumps(config)
        uvicorn.run("assistant.api:app_from_env", factory=True, workers=args.workers, **common)
    else:
        uvicorn.run(create_app(config.pop("model"), **config), **common)
    return 0
