"""One JSON error shape for every failure: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shadowtrace.errors import ShadowtraceError, StoreError
from shadowtrace.vessels import NotFoundError

CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
         413: "payload_too_large", 414: "uri_too_long", 422: "invalid_parameter", 500: "internal",
         503: "store_error"}


class ApiError(Exception):
    """An error the API answers with ``status`` and the error shape."""

    def __init__(self, status: int, message: str, *, details: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers


def error_response(status: int, message: str, details: list[dict[str, str]] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": CODES.get(status, "bad_request" if status < 500 else "internal"),
                      "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


def invalid(field: str, message: str) -> ApiError:
    """A 422 for one bad query parameter."""
    return ApiError(422, f"invalid {field}: {message}", details=[{"field": f"query.{field}", "message": message}])


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, exc.details, exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [{"field": _location(e.get("loc", ())), "message": str(e.get("msg", "invalid"))}
               for e in exc.errors()]
    fields = ", ".join(d["field"] for d in details) or "request"
    return error_response(422, f"invalid parameter: {fields}", details)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "error"
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such path: {request.url.path[:200]}"
    return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))


async def _shadowtrace_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ShadowtraceError)
    # ConfigError and the rest: the request asked for something the library refuses.
    status = 404 if isinstance(exc, NotFoundError) else 503 if isinstance(exc, StoreError) else 400
    # CLI hints name commands and options; only a refused value's hint helps an API client.
    message = exc.message if status != 400 or not exc.hint else f"{exc.message} ({exc.hint})"
    return error_response(status, message)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises after this response, so the server logs the traceback; the client
    # learns nothing about the internals.
    return error_response(500, "internal error; the server log has the details")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ShadowtraceError, _shadowtrace_error)
    app.add_exception_handler(Exception, _unexpected)
