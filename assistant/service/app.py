"""The HTTP service's app: POST /api/predict (multipart), the 2020 base64 form, health,
classes, docs.

One model is loaded at start and shared; a single model thread answers the photos that wait
together as one batch (micro-batching), so concurrent requests share the CPU well and never
see each other's results. `--engine ray` runs this same app on Ray Serve
(assistant.service.on_ray). Limits on body size, pixel count and formats turn bad input into
a 4xx with a JSON {"error": ...} sentence.
"""
# No `from __future__ import annotations` here: FastAPI reads the route functions' annotations,
# which name classes imported inside add_routes.
import asyncio
import json
import logging
import os
import time
from contextlib import asynccontextmanager
from pathlib import Path

from assistant.inference.protocol import Classifier
from assistant.service.batcher import Batcher, Busy
from assistant.service.guard import BODY_DEADLINE_S, MAX_BODY, READ_TIMEOUT_S, BodyLimit, Guard
from assistant.service.upload import (
    MAX_DECODED,
    MAX_PIXELS,
    ApiError,
    picture_from_bytes,
    upload_bytes,
)

log = logging.getLogger(__name__)

#: the settings `serve --workers N` hands each uvicorn process (as JSON)
CONFIG_ENV = "GROCERY_ASSISTANT_SERVE_CONFIG"


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
    if not max_body > 0:  # 0 would lift the size cap and the slow-body deadlines at once
        raise ValueError(f"max_body must be more than 0, not {max_body}")
    if barcode_names is None and barcode_list:
        barcode_names = _barcode_lookup(Path(barcode_list))
    clf = classifier_or_model_path
    if isinstance(clf, str | os.PathLike):
        from assistant.inference.onnx_backend import open_classifier
        clf = open_classifier(Path(clf), backend, device=device, threads=threads, calibration=calibration)
    batcher = make_batcher(clf) if make_batcher else Batcher(clf, max_batch, max_pending)
    batcher.warm_up(_zeros(clf.preprocessing.size))
    answers = Answers(clf, batcher, max_pixels=max_pixels, max_decoded=max_decoded,
                      decode_workers=decode_workers, barcode_names=barcode_names, reader=reader)
    app = _fastapi(batcher, clf)
    add_error_handlers(app)
    add_routes(app, answers, engine=engine, replicas=replicas)
    guarded = BodyLimit(app, max_body, read_timeout, body_deadline)
    if token or allowed_hosts:
        guarded = Guard(guarded, set(allowed_hosts) if allowed_hosts else None, token)
    return guarded


class Answers:
    """What the routes ask of the model, shared by all requests: a photo's answer (decoded in
    a bounded pool of threads, classified by the batcher, its barcodes named) and the text on
    it (one reading at a time, the reader opened on the first)."""

    def __init__(self, clf: Classifier, batcher, *, max_pixels: int, max_decoded: int, decode_workers: int,
                 barcode_names, reader) -> None:
        self.clf: Classifier = clf
        self.batcher = batcher
        self.max_pixels, self.max_decoded = max_pixels, max_decoded
        self.barcode_names = barcode_names
        self.names = {cid: {"en": clf.name(cid, "en"), "es": clf.name(cid, "es")}
                      for cid in clf.class_ids}
        self.version = clf.checkpoint.version
        self.started = time.monotonic()
        self.decode_slots = asyncio.Semaphore(decode_workers)  # bounds memory held by decoding
        self.reader, self.problem = reader, None
        self.read_slots = asyncio.Semaphore(1)  # one reading at a time: it takes the CPU for a second

    async def classify(self, data: bytes, k: int) -> dict:
        from fastapi.concurrency import run_in_threadpool
        t0 = time.perf_counter()
        async with self.decode_slots:
            chw, codes = await run_in_threadpool(picture_from_bytes, data,
                                                 self.clf.preprocessing.size, self.max_pixels,
                                                 self.max_decoded)
        try:
            pred = await self.batcher.infer(chw)
        except Busy:
            raise ApiError(503, "the service is busy; try again in a moment") from None
        names = self.names
        top = [{"class": cid, "score": round(p, 6), "names": names[cid]} for cid, p in pred.top[:k]]
        return {"class": pred.label, "score": round(pred.score, 6), "names": names[pred.label],
                "top": top, "barcodes": self._barcodes(codes), "model_version": self.version,
                "ms": round((time.perf_counter() - t0) * 1e3, 1)}

    def _barcodes(self, codes) -> list[dict]:
        found = []
        for code in codes:
            entry = self.barcode_names(code.text) if self.barcode_names is not None else None
            found.append({"code": code.text, "format": code.format,
                          "name": entry.name("en") if entry else None,
                          "names": {"en": entry.name("en"), "es": entry.name("es")} if entry else None})
        return found

    async def read_text(self, data: bytes) -> dict:
        from fastapi.concurrency import run_in_threadpool

        from assistant.inference.vision import load_image
        from assistant.reading import OcrUnavailable, open_reader
        if self.reader is None and self.problem is None:
            self.reader, self.problem = open_reader()
        if self.reader is None:
            raise ApiError(503, f"this service cannot read text: {self.problem}")
        async with self.read_slots:
            try:
                full = await run_in_threadpool(load_image, data, self.max_decoded)
                reading = await run_in_threadpool(self.reader.read, full)
            except OcrUnavailable as exc:
                self.reader, self.problem = None, str(exc)
                raise ApiError(503, f"this service cannot read text: {exc}") from None
        return {"text": reading.lines, "dates": [d.to_dict() for d in reading.dates]}


def _fastapi(batcher, clf):
    """The bare FastAPI app: its description, no stock docs pages (ours is /docs), and the
    batcher closed when the server stops."""
    from fastapi import FastAPI

    from assistant import __version__

    @asynccontextmanager
    async def lifespan(_app):
        yield
        batcher.close()

    app = FastAPI(title="Grocery assistant", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  description="Names the grocery product in a photo. Runs offline on this machine.")
    app.state.batcher, app.state.classifier = batcher, clf
    return app


def add_error_handlers(app) -> None:
    """Every refusal and failure answers JSON {"error": sentence, "status": code}."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

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


def add_routes(app, answers: Answers, *, engine: str, replicas: int) -> None:
    """The service's routes, answered by `answers`; engine and replicas for /api/health."""
    from fastapi import Query, Request
    from fastapi.responses import HTMLResponse

    from assistant.service import schema
    clf, names, version = answers.clf, answers.names, answers.version
    k_query = Query(3, ge=1, le=100, description="how many candidates to list in 'top'")
    text_query = Query(False, description="also read the text and dates on the pack ('text', "
                                          "'dates'; about a second more)")

    # exclude_unset: 'text' and 'dates' are in the answer only when they were asked for
    @app.post("/api/predict", response_model=schema.PredictAnswer, responses=schema.ERRORS, openapi_extra=schema.PREDICT_BODY,
              summary="Name the product in a photo", response_model_exclude_unset=True)
    async def predict(request: Request, k: int = k_query, text: bool = text_query):
        """Upload a photo as multipart form field `file` (JPEG, PNG, WebP or BMP)."""
        data = await upload_bytes(request)
        result = await answers.classify(data, k)
        return {**result, **await answers.read_text(data)} if text else result

    @app.post("/api/predict/", response_model=schema.PredictAnswer, responses=schema.ERRORS, openapi_extra=schema.LEGACY_BODY,
              summary="The 2020 form: base64 body", response_model_exclude_unset=True)
    async def predict_2020(request: Request, k: int = k_query):
        """The 2020 clients' request: the photo base64-encoded, `Content-Type: application/image`.
        The answer keeps the 2020 fields `class` and `score` and adds the new ones."""
        return await answers.classify(await upload_bytes(request), k)

    @app.get("/api/health", response_model=schema.Health, summary="Is the service up, and with which model")
    async def health():
        return {"status": "ok", "model": Path(str(clf.path)).name, "model_version": version,
                "backend": clf.backend, "classes": len(clf.class_ids),
                "pending": answers.batcher.pending,
                "uptime_s": round(time.monotonic() - answers.started, 1),
                "engine": engine, "replicas": replicas}

    @app.get("/api/classes", response_model=schema.ClassList, summary="The products the model knows")
    async def classes():
        return {"model_version": version,
                "classes": [{"id": cid, "names": names[cid]} for cid in clf.class_ids]}

    @app.get("/docs", include_in_schema=False)
    async def docs():
        return HTMLResponse(schema.docs_page(app.openapi()))


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
    config = json.loads(os.environ[CONFIG_ENV])
    return create_app(config.pop("model"), **config)
