"""The HTTP service's wire format (answers, errors, request bodies) and its offline /docs page.

Imported only by assistant.service.app when the service starts (pydantic is not needed for --help).
"""
from __future__ import annotations

import html

from pydantic import BaseModel, ConfigDict, Field


class Names(BaseModel):
    en: str = Field(description="spoken name in English")
    es: str = Field(description="spoken name in Spanish")


class Candidate(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    class_: str = Field(alias="class", description="product id")
    score: float = Field(description="probability, 0 to 1")
    names: Names


class Barcode(BaseModel):
    code: str = Field(description="the digits of an EAN/UPC code, or a QR code's text")
    format: str = Field(description="EAN-13, EAN-8, UPC-A, UPC-E or QR")
    name: str | None = Field(description="its name in the user's barcode list (English), or null")
    names: Names | None = Field(description="its names in the user's list, or null")


class DateRead(BaseModel):
    text: str = Field(description="the words read on the pack, with their date word")
    date: str = Field(description="YYYY-MM-DD, or YYYY-MM for a month")
    kind: str = Field(description="best_before, use_by, expiry, or date (no date word)")


class PredictAnswer(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    class_: str = Field(alias="class", description="the most likely product's id (as in 2020)")
    score: float = Field(description="its probability, 0 to 1 (as in 2020)")
    names: Names = Field(description="its spoken names")
    top: list[Candidate] = Field(description="the k most likely products, best first")
    barcodes: list[Barcode] = Field(default_factory=list,
                                    description="the barcodes read in the photo, with their names")
    model_version: str = Field(description="version (or creation date) of the model that answered")
    ms: float = Field(description="time the service spent on this photo, milliseconds")
    text: list[str] | None = Field(None, description="with ?text=1: the lines read on the pack, "
                                                     "most prominent first")
    dates: list[DateRead] | None = Field(None, description="with ?text=1: the dates read on it")


class ErrorBody(BaseModel):
    error: str = Field(description="what is wrong, in one sentence")
    status: int


class Health(BaseModel):
    status: str
    model: str
    model_version: str
    backend: str
    classes: int
    pending: int = Field(description="photos waiting for the model now (in this replica)")
    uptime_s: float
    engine: str = Field(description="local (this machine's process) or ray (Ray Serve)")
    replicas: int = Field(description="copies of the service answering: --workers processes "
                                      "locally, --replicas on Ray")


class ProductEntry(BaseModel):
    id: str
    names: Names


class ClassList(BaseModel):
    model_version: str
    classes: list[ProductEntry]


ERRORS = {
    400: {"model": ErrorBody, "description": "empty body, malformed form, or not base64"},
    408: {"model": ErrorBody, "description": "the body did not arrive in time"},
    413: {"model": ErrorBody, "description": "the body is larger than the limit"},
    415: {"model": ErrorBody, "description": "not a picture, a format not accepted, or a wrong Content-Type"},
    422: {"model": ErrorBody, "description": "a damaged picture, too many pixels, or a bad parameter"},
    503: {"model": ErrorBody, "description": "too many photos waiting; retry shortly"},
}

PREDICT_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary",
                                "description": "the photo: JPEG, PNG, WebP or BMP"}}}},
}}}

LEGACY_BODY = {"requestBody": {"required": True, "content": {
    "application/image": {"schema": {"type": "string", "description": "the photo's bytes, base64-encoded"}},
}}}


def docs_page(spec: dict) -> str:
    """/docs as plain HTML from the OpenAPI schema: works offline and with a screen reader."""
    e = html.escape
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(spec['info']['title'])} API"
             "</title></head><body>", f"<h1>{e(spec['info']['title'])} API {e(spec['info']['version'])}</h1>",
             f"<p>{e(spec['info'].get('description', ''))}</p>",
             "<p>Machine-readable schema: <a href='/openapi.json'>/openapi.json</a></p>"]
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            parts.append(f"<h2>{e(method.upper())} {e(path)}</h2><p>{e(op.get('summary', ''))}</p>")
            if op.get("description"):
                parts.append(f"<p>{e(op['description'])}</p>")
            body = op.get("requestBody", {}).get("content", {})
            if body:
                parts.append("<p>Body: " + ", ".join(e(k) for k in body) + "</p>")
            params = op.get("parameters", [])
            if params:
                parts.append("<ul>" + "".join(
                    f"<li>query <code>{e(p['name'])}</code>: {e(p.get('description', ''))}</li>"
                    for p in params) + "</ul>")
            parts.append("<ul>" + "".join(f"<li>{e(code)}: {e(r.get('description', ''))}</li>"
                                          for code, r in op.get("responses", {}).items()) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)
