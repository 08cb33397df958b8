"""The HTTP API under /v1: REST with streaming, and OpenAI-compatible chat completions.

Mounted on the chat's own server (app.py), so one process, one port and one Assistant serve
both; see docs/http-api.md.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from .. import uploads
from ..errors import AssistantError, MissingDependency
from . import openai_api, rest
from .common import Access, ApiError, Gate, api_error

PREFIX = "/v1"
_KINDS = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


class _Error(BaseModel):
    type: str
    message: str


class ErrorBody(BaseModel):
    """What every error answers (documented in the schema; built by ApiError.body())."""

    error: _Error


_ERRORS = {status: {"model": ErrorBody, "description": text} for status, text in (
    (400, "bad input: the assistant's own message"), (401, "credentials needed"),
    (503, "the waiting line is full (Retry-After), or the index is unavailable"))}


def create_api(assistant, host: str = "127.0.0.1", auth: tuple[str, str] | None = None,
               concurrency: int = 2, queue_size: int = 64, token: str | None = None) -> FastAPI:
    """The /v1 application; `token` defaults to ASSISTANT_API_TOKEN."""
    token = token if token is not None else os.environ.get("ASSISTANT_API_TOKEN") or None
    ctx = SimpleNamespace(assistant=assistant, host=host, access=Access(auth, token),
                          gate=Gate(concurrency, queue_size))
    api = FastAPI(title="Corpus Assistant API", version="1",
                  description="Cited answers from the indexed news corpus. Errors are "
                              '`{"error": {"type", "message"}}`.',
                  servers=[{"url": PREFIX}], openapi_url=None, docs_url=None, redoc_url=None,
                  dependencies=[Depends(ctx.access.check)], responses=_ERRORS)
    api.include_router(rest.router(ctx), tags=["corpus"])
    api.include_router(openai_api.router(ctx), tags=["openai"])
    _errors(api)
    _docs(api)
    # A request may carry two files at the largest (PDF) limit, like Gradio's cap for the chat.
    pdf_mb = uploads.upload_limit_mb("any.pdf", assistant.settings.max_file_mb)
    api.add_middleware(rest.UploadCap, limit_mb=2 * pdf_mb + 1)
    return api


def mount(assistant, **options) -> Mount:
    """create_api() as a route at /v1, for the chat's FastAPI app (Gradio's app_kwargs)."""
    return Mount(PREFIX, app=create_api(assistant, **options))


def _errors(api: FastAPI) -> None:
    """Every failure as {"error": {...}} with its status; never a traceback."""

    async def _known(request, exc: Exception):
        return api_error(exc).response()

    # ApiError, the assistant's own errors, and anything unexpected (logged, answered 500).
    for kind in (ApiError, AssistantError, Exception):
        api.add_exception_handler(kind, _known)

    @api.exception_handler(RequestValidationError)
    async def _invalid(request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}"
                             for e in exc.errors())
        return ApiError(400, "invalid_request", f"Invalid request: {problems}. See {PREFIX}/docs "
                        "for the expected fields.").response()

    @api.exception_handler(HTTPException)
    async def _http(request, exc: HTTPException):
        message, allow = str(exc.detail), (getattr(exc, "headers", None) or {}).get("Allow")
        if exc.status_code == 404:
            message = f"No such endpoint: {request.method} {request.url.path}. See {PREFIX}/docs."
        elif exc.status_code == 405 and allow:
            message = f"{request.method} is not allowed on {request.url.path}; use {allow}."
        return ApiError(exc.status_code, _KINDS.get(exc.status_code, "http_error"), message,
                        getattr(exc, "headers", None)).response()


def _docs(api: FastAPI) -> None:
    """/openapi.json, and Swagger UI at /docs from files on disk: the page loads offline."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        swagger_ui_path = None
    else:
        api.mount("/docs/assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @api.get("/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        return JSONResponse(api.openapi())

    @api.get("/docs", include_in_schema=False)
    async def docs(request: Request):
        if swagger_ui_path is None:
            raise MissingDependency("swagger-ui-bundle-v2", "ui")
        base = request.scope.get("root_path", "")
        assets = f"{base}/docs/assets"
        return get_swagger_ui_html(
            openapi_url=f"{base}/openapi.json", title="Corpus Assistant API",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon-32x32.png")  # the default is a web URL
