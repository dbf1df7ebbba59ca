"""Every failure of the HTTP API as OpenAI-style error JSON with a clear message, never a stack trace.

    {"error": {"message": "...", "type": "invalid_request_error", "param": "model", "code": "model_not_found"}}

Malformed JSON, wrong types and missing fields (FastAPI's validation), unknown routes, expected
problems (``RagError``: message + hint), a full model queue (429 + ``Retry-After``) and anything
unexpected (500, logged on the server, only a generic message to the client) all end up here.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.answer.gate import BusyError
from rag.errors import RagError

log = logging.getLogger("rag.serve")

_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
          404: "invalid_request_error", 405: "invalid_request_error", 413: "invalid_request_error",
          429: "rate_limit_error"}


class ApiError(Exception):
    """An error the API answers with ``status`` and an OpenAI-style body."""

    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.headers = headers or {}


def error_body(status: int, message: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """``{"error": {message, type, param, code}}``."""
    return {"error": {"message": message, "type": _TYPES.get(status, "server_error"), "param": param,
                      "code": code}}


def error_response(status: int, message: str, code: str | None = None, param: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The error as a JSON response."""
    return JSONResponse(error_body(status, message, code, param), status_code=status, headers=headers)


def busy_error(exc: BusyError) -> ApiError:
    """A full generation queue: 429 with ``Retry-After`` (whole seconds)."""
    wait = max(1, round(exc.retry_after))
    return ApiError(429, f"{exc.message}; retry in about {wait} s", code="rate_limit_exceeded",
                    headers={"Retry-After": str(wait)})


def rag_error(exc: RagError) -> ApiError:
    """An expected problem of the pipeline: its message and hint, status 400 (429 for a busy model)."""
    if isinstance(exc, BusyError):
        return busy_error(exc)
    message = exc.message + (f" ({exc.hint})" if exc.hint else "")
    return ApiError(400, message, code=type(exc).__name__)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


def validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    """A readable message for FastAPI's validation errors, and the first offending field."""
    errors = list(exc.errors())
    for e in errors:
        if e.get("type") == "json_invalid":
            detail = (e.get("ctx") or {}).get("error", "")
            return f"the request body is not valid JSON{': ' + str(detail) if detail else ''}", None
    if not errors:
        return "invalid request", None
    shown: list[str] = []
    for e in errors[:3]:
        where = _location(tuple(e.get("loc", ())))
        if e.get("type") == "missing":
            shown.append(f"missing required field '{where}'")
        else:
            shown.append(f"'{where}': {e.get('msg', 'invalid value')}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "invalid request: " + "; ".join(shown) + more, _location(tuple(errors[0].get("loc", ())))


class BodyLimit:
    """ASGI middleware: request bodies over ``max_bytes`` get a 413 error JSON (declared or streamed)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"the request body is too large: at most {self.max_bytes} bytes"
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(413, message, "body_too_large")(scope, receive, send)
            return
        total, too_large, replied = 0, False, False

        async def limited() -> Any:
            nonlocal total, too_large
            msg = await receive()
            if msg["type"] == "http.request":
                total += len(msg.get("body", b""))
                if total > self.max_bytes:
                    too_large = True
                    raise ApiError(413, message, code="body_too_large")
            return msg

        async def reply(msg: Any) -> None:  # once the body was too large, the 413 replaces any other response
            nonlocal replied
            if not too_large:
                await send(msg)
            elif not replied:
                replied = True
                await error_response(413, message, "body_too_large")(scope, receive, send)

        try:
            await self.app(scope, limited, reply)
        except Exception:
            if not too_large or replied:
                raise
            await reply({})


def install(app: FastAPI, max_body_bytes: int) -> None:
    """Register the handlers that turn every failure into OpenAI-style error JSON."""
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.code, exc.param, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = validation_message(exc)
        return error_response(400, message, "invalid_request", param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"no such endpoint: {request.method} {request.url.path} (see GET /v1/models, POST /v1/search …)"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        return error_response(exc.status_code, message, headers=dict(exc.headers or {}))

    @app.exception_handler(RagError)
    async def _rag(request: Request, exc: RagError) -> JSONResponse:
        err = rag_error(exc)
        return error_response(err.status, err.message, err.code, err.param, err.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal server error: the request could not be completed (see the server log)",
                              "internal_error")
